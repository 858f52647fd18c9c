/**
 * Per-node progress of `flowgram run` on stderr. On a terminal, each running node has a line with a
 * spinner that turns into ✔/✖ with its time; otherwise (a pipe, a log file, CI) one plain line per
 * finished node, e.g. `✔ LLM_1 (llm) 120 ms`.
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

/** `✔ Title (type) 12 ms` and, for a failure, `: error`. */
export function finishedNodeLine(event: Extract<TaskEvent, { type: 'node_finished' }>, paint: Paint = plainPaint): string {
  const error = event.error ? `: ${event.error}` : '';
  return `${mark(event.status, paint)} ${event.title} ${paint.dim(`(${event.nodeType})`)} ${event.timeCost} ms${error}`;
}

export function finishedWorkflowLine(event: Extract<TaskEvent, { type: 'workflow_finished' }>, paint: Paint = plainPaint): string {
  const error = event.error ? `: ${event.error.message}` : '';
  return `${mark(event.status, paint)} workflow ${event.status} in ${event.timeCost} ms${error}`;
}

/** Plain lines, one per finished node and one at the end. */
export function plainProgress(out: ProgressOutput): ProgressRenderer {
  return {
    onEvent(event) {
      if (event.type === 'node_finished' && !HIDDEN_TYPES.has(event.nodeType)) out.write(`${finishedNodeLine(event)}\n`);
      else if (event.type === 'workflow_finished') out.write(`${finishedWorkflowLine(event)}\n`);
    },
    stop() {},
  };
}

/** Live lines redrawn in place: finished nodes scroll up, running ones spin below them. */
export function ttyProgress(out: ProgressOutput, color = !process.env.NO_COLOR): ProgressRenderer {
  const paint = color ? colorPaint : plainPaint;
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
      if (event.type === 'node_started' && !HIDDEN_TYPES.has(event.nodeType)) {
        running.set(event.nodeID, { title: event.title, nodeType: event.nodeType, startedAt: event.time });
        timer ??= setInterval(tick, SPIN_MS);
        timer.unref();
        draw();
      } else if (event.type === 'node_finished' && !HIDDEN_TYPES.has(event.nodeType)) {
        running.delete(event.nodeID);
        done.push(finishedNodeLine(event, paint));
        draw();
      } else if (event.type === 'workflow_finished') {
        running.clear();
        done.push(finishedWorkflowLine(event, paint));
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

export function createProgress(out: ProgressOutput): ProgressRenderer {
  return out.isTTY ? ttyProgress(out) : plainProgress(out);
}
