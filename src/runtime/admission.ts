import { limitExceeded } from '../limits.js';

export interface ConcurrencyOptions {
  /** Tasks running at once; more wait in a FIFO queue with status `pending`. Default: unlimited. */
  maxRunningTasks?: number;
  /** Tasks waiting for a slot; beyond it `start` throws FLOWGRAM_ERR_LIMIT_EXCEEDED. Default: unlimited. */
  maxQueuedTasks?: number;
}

/** What admission starts: a workflow execution (`WorkflowExecution` is one). */
export interface Admittable {
  start(): void;
  /** Ended (e.g. cancelled while it waited for a slot): skipped when its turn comes. */
  readonly ended: boolean;
  /** Was admitted (holds or held a slot). */
  readonly started: boolean;
  /** Waits for a signal: it gave its slot back (see `suspended`). */
  readonly suspended: boolean;
}

/**
 * Which executions run now and which wait for a slot (`maxRunningTasks`), in the order they came,
 * up to `maxQueuedTasks`. The runtime reports each execution's changes (suspended, continued, ended).
 */
export class Admission<T extends Admittable = Admittable> {
  private readonly maxRunning: number;
  private readonly maxQueued: number;
  private runningCount = 0;
  /** Executions waiting for a slot, FIFO; entries ended while waiting are skipped. */
  private readonly waiting: T[] = [];
  private waitingHead = 0;
  private admitting = false;

  constructor(options: ConcurrencyOptions = {}) {
    this.maxRunning = options.maxRunningTasks ?? Number.POSITIVE_INFINITY;
    this.maxQueued = options.maxQueuedTasks ?? Number.POSITIVE_INFINITY;
  }

  /** Executions holding a slot. */
  get running(): number {
    return this.runningCount;
  }

  /** Executions waiting for a slot (those ended while waiting included until their turn). */
  get queued(): number {
    return this.waiting.length - this.waitingHead;
  }

  /** Throws FLOWGRAM_ERR_LIMIT_EXCEEDED when a new execution would find neither a slot nor room in the queue. */
  checkRoom(): void {
    if (this.runningCount >= this.maxRunning && this.queued >= this.maxQueued) {
      throw limitExceeded('maxQueuedTasks', `${this.maxQueued} tasks are already waiting to run`);
    }
  }

  /** Starts the execution now if a slot is free, else queues it (call `checkRoom` first). */
  submit(execution: T): void {
    if (this.runningCount < this.maxRunning) this.admit(execution);
    else this.waiting.push(execution);
  }

  /** The execution waits for a signal: it frees its slot. */
  suspended(): void {
    this.runningCount--;
    if (this.queued > 0) this.admitWaiting();
  }

  /** A suspended execution runs again (signalled): it takes a slot back at once, even over the limit. */
  continued(): void {
    this.runningCount++;
  }

  /** The execution ended: a slot it held (not one it gave back while suspended) is freed. */
  ended(execution: T): void {
    if (execution.started && !execution.suspended) {
      this.runningCount--;
      if (this.queued > 0) this.admitWaiting();
    }
  }

  private admit(execution: T): void {
    this.runningCount++;
    execution.start();
  }

  /** Admits waiting executions into free slots; in a microtask, so a long queue never deepens the stack. */
  private admitWaiting(): void {
    if (this.admitting) return;
    this.admitting = true;
    queueMicrotask(() => {
      this.admitting = false;
      while (this.runningCount < this.maxRunning && this.waitingHead < this.waiting.length) {
        const next = this.waiting[this.waitingHead++];
        if (!next.ended) this.admit(next);
      }
      if (this.waitingHead === this.waiting.length) {
        this.waiting.length = 0;
        this.waitingHead = 0;
      }
    });
  }
}
