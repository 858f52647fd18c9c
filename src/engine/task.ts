import type { IReport } from '@flowgram.ai/runtime-interface';
import { ErrorCodes, FlowgramError, type ErrorCode } from '../errors.js';
import type { WorkflowInputs, WorkflowOutputs } from '../schema/types.js';
import { workflowTitle } from '../schema/workflow-title.js';
import type { WaitAnswer } from './checkpoint.js';
import type { WorkflowError, WorkflowExecution } from './engine.js';
import type { WorkflowDocument } from '../schema/document.js';
import type { TaskRecorder } from './recorder.js';
import type { TaskEvent, TaskEventListener, WorkflowStatusName } from './types.js';

/** The error `wait()` and `run()` reject with when a workflow does not succeed; it carries the report. */
export class WorkflowRunError extends FlowgramError {
  readonly taskID: string;
  readonly report: IReport;

  constructor(taskID: string, error: WorkflowError, report: IReport, details?: string[]) {
    super(error.code as FlowgramError['code'], error.message, { ...(details ? { details } : {}), ...(error.nodeID ? { nodeID: error.nodeID } : {}) });
    this.name = 'WorkflowRunError';
    this.taskID = taskID;
    this.report = report;
  }
}

export interface SubscribeOptions {
  /** Deliver the events so far first (default true). */
  replay?: boolean;
}

const NO_UNSUBSCRIBE = (): void => undefined;

/** A listener's bug (or its own unsubscribe, not yet assigned during the replay) never breaks the task. */
function deliver(listener: TaskEventListener, event: TaskEvent): void {
  try {
    listener(event);
  } catch {
    // as for live events (recorder.dispatch)
  }
}

export interface WaitOptions {
  /** Give up waiting after this long (the task keeps running); rejects with FLOWGRAM_ERR_WAIT_TIMEOUT. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A summary of a task for listings. */
export interface TaskSummary {
  id: string;
  status: WorkflowStatusName;
  /** The workflow's name for listings (see `workflowTitle`). */
  title: string;
  startTime: number;
  endTime?: number;
  timeCost: number;
  error?: string;
  /** The task whose outputs this one reused (`runtime.rerun`). */
  rerunOf?: string;
}

/**
 * A handle on one workflow run. Created by `start()`; lives in the runtime's memory until retention
 * releases it after it has ended.
 */
export class Task {
  /** Set once the task ended; used by retention. */
  endedAt = 0;

  constructor(
    private readonly recorder: TaskRecorder,
    private readonly execution: WorkflowExecution | undefined,
    /** Why the task never ran: its schema's problems, or only its inputs' (INPUTS_INVALID). */
    private readonly validation: { code: ErrorCode; errors: string[] } | undefined,
    /** The workflow schema as submitted (for viewers and stores); never mutated. */
    readonly schema: unknown,
  ) {}

  get id(): string {
    return this.recorder.taskID;
  }

  get status(): WorkflowStatusName {
    return this.recorder.workflow.status;
  }

  get ended(): boolean {
    return this.recorder.terminated;
  }

  /** When the task ended (epoch ms), once it has. */
  get endTime(): number | undefined {
    return this.recorder.workflow.endTime;
  }

  get inputs(): WorkflowInputs {
    return this.recorder.inputs;
  }

  /** The task whose outputs this one reused (`runtime.rerun`), if any. */
  get rerunOf(): string | undefined {
    return this.recorder.rerunOf;
  }

  /** A copy of a value with this task's secrets masked, for showing it (e.g. its schema in the viewer). */
  masked<T>(value: T): T {
    return this.recorder.mask(value);
  }

  /** The inputs as stores keep them: values known to be secrets (e.g. a key fed into an LLM `apiKey`) masked. */
  get storedInputs(): WorkflowInputs {
    return this.recorder.mask(this.recorder.inputs);
  }

  /** The error that ended the task, if it failed or was cancelled. */
  get error(): WorkflowError | undefined {
    if (this.validation) return { code: this.validation.code, message: this.validation.errors.join('; ') };
    const error = this.execution?.error;
    return error && this.recorder.mask(error);
  }

  /** Settles (never rejects) when the task has ended; a task waiting for a signal has not. */
  get done(): Promise<void> {
    return this.execution ? this.execution.done : Promise.resolve();
  }

  /** Settles when nothing runs: the task has ended, or it waits for a signal (status `waiting`). */
  idle(): Promise<void> {
    if (this.ended || this.status === 'waiting') return Promise.resolve();
    return new Promise((resolve) => {
      const unsubscribe = this.subscribe(
        (event) => {
          if (event.type !== 'workflow_waiting' && event.type !== 'workflow_finished') return;
          unsubscribe();
          resolve();
        },
        { replay: false },
      );
    });
  }

  /** The workflow it runs (undefined for a workflow that failed validation). */
  get document(): WorkflowDocument | undefined {
    return this.execution?.params.document;
  }

  /** The nodes it waits on, with their deadlines (epoch ms) if they time out; empty unless its status is `waiting`. */
  waitingNodes(): Array<{ nodeID: string; deadline: number | undefined }> {
    return this.execution?.waitingNodes() ?? [];
  }

  /**
   * Answers a node the task waits on and runs the workflow on; false when it does not wait on it.
   * `runtime.signal` checks the data and the store first: use that.
   */
  answer(nodeID: string, answer: WaitAnswer): boolean {
    return this.execution?.answer(nodeID, answer) ?? false;
  }

  /** Waits for the outputs; rejects when the workflow fails, is cancelled, or the wait times out. */
  async wait(options: WaitOptions = {}): Promise<WorkflowOutputs> {
    if (!this.ended && options.timeoutMs === undefined && !options.signal) {
      await this.done; // the common case: no race, no timers
    } else if (!this.ended) {
      const waits: Array<Promise<unknown>> = [this.done];
      const cleanups: Array<() => void> = [];
      if (options.timeoutMs !== undefined) {
        waits.push(
          new Promise((_, reject) => {
            const timer = setTimeout(
              () => reject(new FlowgramError(ErrorCodes.WAIT_TIMEOUT, `task ${this.id} did not finish within ${options.timeoutMs} ms`)),
              options.timeoutMs,
            );
            cleanups.push(() => clearTimeout(timer));
          }),
        );
      }
      if (options.signal) {
        const signal = options.signal;
        waits.push(
          new Promise((_, reject) => {
            const onAbort = (): void => reject(new FlowgramError(ErrorCodes.WAIT_TIMEOUT, `waiting for task ${this.id} was aborted`));
            if (signal.aborted) onAbort();
            signal.addEventListener('abort', onAbort, { once: true });
            cleanups.push(() => signal.removeEventListener('abort', onAbort));
          }),
        );
      }
      try {
        await Promise.race(waits);
      } finally {
        for (const cleanup of cleanups) cleanup();
      }
    }
    return this.outcome();
  }

  private outcome(): WorkflowOutputs {
    if (this.status === 'succeeded') return this.recorder.mask(this.recorder.outputs);
    const error = this.error ?? { code: ErrorCodes.INTERNAL, message: `task ended with status ${this.status}` };
    throw new WorkflowRunError(this.id, error, this.report(), this.validation?.errors);
  }

  /** The outputs once the task has ended (`{}` unless it succeeded); undefined while it runs. */
  result(): WorkflowOutputs | undefined {
    return this.ended ? this.recorder.mask(this.recorder.outputs) : undefined;
  }

  report(): IReport {
    return this.recorder.report();
  }

  /** `JSON.stringify(task.report())`, built without copying the task's values first (what stores write). */
  reportJSON(): string {
    return this.recorder.reportJSON();
  }

  /** Cancels the task; idempotent. Returns true when this call ended it. */
  cancel(reason = 'cancelled by user'): boolean {
    if (!this.execution) return false;
    return this.execution.cancel(reason);
  }

  /**
   * Subscribes to the task's events: first every event so far (delivered before this returns: nothing is
   * buffered for tasks no one watches, the history is rebuilt from the task's records), then live ones.
   * `replay: false` delivers only events from now on, for consumers that read `events()` themselves.
   * Returns the unsubscribe function.
   */
  subscribe(listener: TaskEventListener, options: SubscribeOptions = {}): () => void {
    if (options.replay === false) return this.recorder.subscribe(listener);
    const past = this.recorder.events().events;
    // Events that happen while the past is delivered (a listener may cancel) follow it, in order.
    let replaying = true;
    const heldBack: TaskEvent[] = [];
    const unsubscribe = this.ended
      ? NO_UNSUBSCRIBE
      : this.recorder.subscribe((event) => (replaying ? heldBack.push(event) : listener(event)));
    for (const event of past) deliver(listener, event);
    for (let i = 0; i < heldBack.length; i++) deliver(listener, heldBack[i]);
    replaying = false;
    return unsubscribe;
  }

  /** The events emitted so far (for consumers that attach late). */
  events(): readonly TaskEvent[] {
    return this.recorder.events().events;
  }

  summary(): TaskSummary {
    const { startTime, endTime } = this.recorder.workflow;
    const timeCost = startTime === 0 ? 0 : (endTime ?? Date.now()) - startTime;
    const summary: TaskSummary = { id: this.id, status: this.status, title: workflowTitle(this.schema), startTime, timeCost };
    if (endTime !== undefined) summary.endTime = endTime;
    const error = this.error;
    if (error && this.status !== 'succeeded') summary.error = error.message;
    if (this.recorder.rerunOf !== undefined) summary.rerunOf = this.recorder.rerunOf;
    return summary;
  }
}
