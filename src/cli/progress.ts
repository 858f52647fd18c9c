/**
 * Per-node progress of `flowgram run` on stderr. On a terminal, each running node has a line with a
 * spinner that turns into ✔/✖ with its time; otherwise (a pipe, a log file, CI) one plain line per
 * finished node, e.g. `✔ LLM_1 (llm) 120 ms`; inside loops with the iteration (`[3/20]`), and what the node
 * logged (a code node's console output) indented under it.
 */
import type { TaskEvent } from '../engine/types.js';

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressRenderer {
  onEvent(event: TaskEvent): void;
  /** Stops the spinner and clears what is still drawn. */
  stop(): void;
}

/** Plumbing node types that would only add noise. */
const HIDDEN_TYPES = new Set(['block-start', 'block-end']);
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPIN_MS = 80;

interface Paint {
  ok(text: string): string;
  fail(text: string): string;
  dim(text: string): string;
}

const plainPaint: Paint = { ok: (text) => text, fail: (text) => text, dim: (text) => text };
const colorPaint: Paint = {
  ok: (text) => `\x1b[32m${text}\x1b[39m`,
  fail: (text) => `\x1b[31m${text}\x1b[39m`,
  dim: (text) => `\x1b[2m${text}\x1b[22m`,
};

function mark(status: 'succeeded' | 'failed' | 'canceled', paint: Paint): string {
  if (status === 'succeeded') return paint.ok('✔');
  return status === 'failed' ? paint.fail('✖') : paint.dim('⊘');
}

/**
 * `✔ Title (type) [3/20] 12 ms`: no error text, the run's one failure line says why (printed once).
 * `iteration` is where the node ran inside loops, e.g. `[2/3][1/5]` for nested ones.
 */
export function finishedNodeLine(event: Extract<TaskEvent, { type: 'node_finished' }>, paint: Paint = plainPaint, iteration = ''): string {
  return `${mark(event.status, paint)} ${event.title} ${paint.dim(`(${event.nodeType})`)}${iteration ? ` ${paint.dim(iteration)}` : ''} ${event.timeCost} ms`;
}

export function finishedWorkflowLine(event: Extract<TaskEvent, { type: 'workflow_finished' }>, paint: Paint = plainPaint): string {
  return `${mark(event.status, paint)} workflow ${event.status} in ${event.timeCost} ms`;
}

/** Which loop each node sits in, and which block-start begins each loop's iterations (from the schema). */
export interface LoopLayout {
  loopOf: ReadonlyMap<string, string>;
  blockStartOf: ReadonlyMap<string, string>;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function loopLayout(schema: unknown): LoopLayout {
  const loopOf = new Map<string, string>();
  const blockStartOf = new Map<string, string>();
  const visit = (nodes: unknown, owner: string | undefined, depth: number): void => {
    if (!Array.isArray(nodes) || depth > 32) return;
    for (const node of nodes) {
      if (!isRecord(node) || typeof node.id !== 'string') continue;
      if (owner !== undefined) {
        loopOf.set(node.id, owner);
        if (node.type === 'block-start') blockStartOf.set(node.id, owner);
      }
      visit(node.blocks, node.id, depth + 1);
    }
  };
  if (isRecord(schema)) visit(schema.nodes, undefined, 0);
  return { loopOf, blockStartOf };
}

export interface ProgressOptions {
  layout?: LoopLayout;
  /** Hide what nodes log (a code node's console.* / print). */
  quiet?: boolean;
}

/**
 * Turns events into finished lines: each node's line with its loop iteration, then what the node logged,
 * indented under it. Shared by both renderers.
 */
class ProgressLines {
  private readonly iteration = new Map<string, number>();
  private readonly iterations = new Map<string, number>();
  private readonly logged = new Map<string, Array<{ level: string; message: string }>>();

  constructor(
    private readonly options: ProgressOptions,
    private readonly paint: Paint,
  ) {}

  /** The lines an event completes (finished nodes and the workflow); bookkeeping for the others. */
  lines(event: TaskEvent): string[] {
    const layout = this.options.layout;
    switch (event.type) {
      case 'node_started': {
        if (event.nodeType === 'loop') this.iteration.set(event.nodeID, 0);
        const loop = layout?.blockStartOf.get(event.nodeID);
        if (loop !== undefined) this.iteration.set(loop, (this.iteration.get(loop) ?? 0) + 1);
        return [];
      }
      case 'node_progress':
        if (typeof event.data.iterations === 'number') this.iterations.set(event.nodeID, event.data.iterations);
        return [];
      case 'message':
        if (event.nodeID !== undefined && !this.options.quiet) {
          const list = this.logged.get(event.nodeID) ?? [];
          list.push({ level: event.level, message: event.message });
          this.logged.set(event.nodeID, list);
        }
        return [];
      case 'node_finished': {
        const logged = this.logged.get(event.nodeID) ?? [];
        this.logged.delete(event.nodeID);
        if (HIDDEN_TYPES.has(event.nodeType)) return [];
        const out = [finishedNodeLine(event, this.paint, this.where(event.nodeID))];
        for (const { level, message } of logged) {
          // The node's failure is recorded as an error message too; the run's failure line says it once.
          if (level === 'error' && message === event.error) continue;
          for (const line of message.split('\n')) out.push(`  ${this.paint.dim('│')} ${level === 'log' || level === 'info' ? '' : `${level}: `}${line}`);
        }
        return out;
      }
      case 'workflow_finished':
        return [finishedWorkflowLine(event, this.paint)];
      default:
        return [];
    }
  }

  /** `[i/n]` per enclosing loop, outermost first. */
  private where(nodeID: string): string {
    const layout = this.options.layout;
    if (!layout) return '';
    let label = '';
    for (let loop = layout.loopOf.get(nodeID); loop !== undefined; loop = layout.loopOf.get(loop)) {
      const total = this.iterations.get(loop);
      label = `[${this.iteration.get(loop) ?? 0}${total === undefined ? '' : `/${total}`}]${label}`;
    }
    return label;
  }
}

/** Plain lines, one per finished node (and what it logged) and one at the end. */
export function plainProgress(out: ProgressOutput, options: ProgressOptions = {}): ProgressRenderer {
  const model = new ProgressLines(options, plainPaint);
  return {
    onEvent(event) {
      for (const line of model.lines(event)) out.write(`${line}\n`);
    },
    stop() {},
  };
}

/** Live lines redrawn in place: finished nodes scroll up, running ones spin below them. */
export function ttyProgress(out: ProgressOutput, color = !process.env.NO_COLOR, options: ProgressOptions = {}): ProgressRenderer {
  const paint = color ? colorPaint : plainPaint;
  const model = new ProgressLines(options, paint);
  const running = new Map<string, { title: string; nodeType: string; startedAt: number }>();
  let done: string[] = [];
  let drawnLines = 0;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;

  function draw(): void {
    let text = drawnLines > 0 ? `\x1b[${drawnLines}A\r\x1b[0J` : '';
    for (const line of done) text += `${line}\n`;
    done = [];
    const spinner = paint.dim(SPINNER[frame++ % SPINNER.length]);
    const now = Date.now();
    for (const node of running.values()) {
      text += `${spinner} ${node.title} ${paint.dim(`(${node.nodeType})`)} ${now - node.startedAt} ms\n`;
    }
    drawnLines = running.size;
    out.write(text);
  }

  function tick(): void {
    if (running.size > 0) draw();
  }

  return {
    onEvent(event) {
      const lines = model.lines(event);
      if (event.type === 'node_started' && !HIDDEN_TYPES.has(event.nodeType)) {
        running.set(event.nodeID, { title: event.title, nodeType: event.nodeType, startedAt: event.time });
        timer ??= setInterval(tick, SPIN_MS);
        timer.unref();
        draw();
      } else if (event.type === 'node_finished' && !HIDDEN_TYPES.has(event.nodeType)) {
        running.delete(event.nodeID);
        done.push(...lines);
        draw();
      } else if (event.type === 'workflow_finished') {
        running.clear();
        done.push(...lines);
        draw();
      }
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      if (running.size > 0) {
        running.clear();
        draw();
      }
    },
  };
}

export function createProgress(out: ProgressOutput, options: ProgressOptions = {}): ProgressRenderer {
  return out.isTTY ? ttyProgress(out, !process.env.NO_COLOR, options) : plainProgress(out, options);
}
