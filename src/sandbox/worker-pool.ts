import { Worker, type ResourceLimits } from 'node:worker_threads';
import { ChannelState, createChannelBuffers, SharedChannel } from './shared-channel.js';

/** What the pool sends a worker, and what the worker answers. */
export interface WorkerJobMessage<Request> {
  id: number;
  request: Request;
}

/** A worker posts this once it can take jobs; deadlines start only then. */
export const WORKER_READY = 'ready';

export type WorkerReplyMessage<Result> =
  | {
      id: number;
      result: Result;
      /** The worker cannot be trusted with another job (e.g. its sandbox was interrupted); replace it. */
      retire?: boolean;
    }
  /** The worker became unusable before it could run the job: run it on another worker. */
  | { id: number; requeue: true };

/** How often a job may be handed back by workers that could not run it before it fails. */
const MAX_REQUEUES = 2;
/** How long overlapping jobs keep synchronous waits off. */
const CONCURRENCY_MEMORY_MS = 50;

/**
 * What the pool needs of a worker: a worker thread, or anything shaped like one (the Python runner's
 * child processes). It answers `WORKER_READY` once, then one reply per job.
 */
export interface PoolWorker {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number | null) => void): unknown;
  removeAllListeners(event: 'message'): unknown;
  /** Whether it keeps the host process alive. */
  ref(): void;
  unref(): void;
  /** Stops it at once. */
  terminate(): Promise<unknown>;
}

export interface WorkerPoolOptions<Request = unknown, Result = unknown> {
  /** Most workers alive at once. */
  size: number;
  /** The worker's module, or (with `eval`) its source code. Ignored with `start`. */
  entry?: URL | string;
  eval?: boolean;
  /** With `channel`, an object: the worker finds its slot's buffers in `workerData.channel`. */
  workerData?: unknown;
  resourceLimits?: ResourceLimits;
  /** Jobs travel through a shared-memory slot per worker instead of messages (see shared-channel.ts). */
  channel?: WorkerChannelOptions<Request, Result>;
  /** Starts a worker of another kind than a thread running `entry` (no `channel` then). */
  start?: () => PoolWorker;
  /**
   * Runs the pool's upkeep: starting workers (for waiting jobs, or in place of retired ones), which
   * holds the host for ~0.3 ms and more while other workers are being torn down, so it never runs in
   * the middle of what asked for it (a deadline, an abort, a reply, a new job). E.g. the host's time
   * slices; default: setImmediate.
   */
  schedule?: (work: () => void) => void;
}

export interface WorkerChannelOptions<Request, Result> {
  /** Size of each worker's slot; a request or reply that does not fit travels as a message. */
  bytes: number;
  encodeRequest(request: Request, bytes: Uint8Array): number | undefined;
  decodeResult(bytes: Uint8Array): Result;
}

export interface WorkerJobOptions<Result> {
  signal?: AbortSignal;
  /** Kill the worker after this long (ms) and settle with `onDeadline()`: the last resort against a stuck job. */
  deadlineMs: number;
  onDeadline: () => Result;
  /**
   * With `channel`: how long the caller lets this job block the event loop waiting for its reply (ms),
   * counted from the call to `run` (a job that has to wait for a worker does not wait synchronously
   * later, outside the caller's time). A short job then costs a few µs of hand-over instead of two
   * event-loop hops. Default 0: the pool always waits asynchronously.
   */
  syncWaitMs?: number;
}

interface Job<Request, Result> {
  readonly id: number;
  readonly request: Request;
  readonly options: WorkerJobOptions<Result>;
  resolve(result: Result): void;
  reject(error: unknown): void;
  /** Until when (performance.now() ms) the caller lets the pool wait for the reply synchronously. */
  readonly syncWaitUntil: number;
  slot?: Slot<Request, Result>;
  settled?: boolean;
  requeues?: number;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

interface Slot<Request, Result> {
  readonly worker: PoolWorker;
  readonly channel: SharedChannel | undefined;
  job: Job<Request, Result> | undefined;
  /** When it last finished a job (see idleSlot). */
  idleSince: number;
  ready: boolean;
  dead: boolean;
}

export class PoolClosedError extends Error {}

/**
 * Worker threads that each run one job at a time. A job that overruns its deadline or is aborted
 * takes its worker with it (terminated at once); the pool starts another on demand. Idle workers
 * never keep the process alive.
 */
export class WorkerPool<Request, Result> {
  private readonly slots: Array<Slot<Request, Result>> = [];
  private readonly queue: Array<Job<Request, Result>> = [];
  private queueHead = 0;
  private nextID = 1;
  private closed = false;
  private readonly readyWaiters: Array<() => void> = [];
  /** Jobs answered synchronously whose callers have not had a microtask turn yet. */
  private undelivered = 0;
  /** Until when jobs are seen overlapping (several callers at once): none waits synchronously meanwhile. */
  private concurrentUntil = 0;
  /** Retired workers to replace at the next upkeep (idle ones, which do not keep the process alive). */
  private replacements = 0;
  private upkeepScheduled = false;

  constructor(private readonly options: WorkerPoolOptions<Request, Result>) {}

  /** Workers alive now. */
  get workers(): number {
    return this.slots.length;
  }

  run(request: Request, options: WorkerJobOptions<Result>): Promise<Result> {
    if (this.closed) return Promise.reject(new PoolClosedError('the worker pool is closed'));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Result>((resolve, reject) => {
      const syncWaitUntil = options.syncWaitMs ? performance.now() + options.syncWaitMs : 0;
      const job: Job<Request, Result> = { id: this.nextID++, request, options, resolve, reject, syncWaitUntil };
      if (signal) {
        job.onAbort = () => this.abort(job, signal.reason);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Starts workers ahead of demand (e.g. at server start-up), up to `count`; resolves when all are ready. */
  warm(count = this.options.size): Promise<void> {
    while (!this.closed && this.slots.length < Math.min(count, this.options.size)) this.spawn(false);
    return new Promise((resolve) => {
      this.readyWaiters.push(resolve);
      this.notifyReady();
    });
  }

  private notifyReady(): void {
    if (this.slots.some((slot) => !slot.ready)) return;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new PoolClosedError('the worker pool is closed');
    for (let i = this.queueHead; i < this.queue.length; i++) this.settle(this.queue[i], error);
    this.queue.length = 0;
    this.queueHead = 0;
    const slots = this.slots.splice(0);
    for (const slot of slots) if (slot.job) this.settle(slot.job, error);
    this.notifyReady();
    await Promise.all(slots.map((slot) => this.kill(slot)));
  }

  private dispatch(): void {
    while (this.queueHead < this.queue.length) {
      const slot = this.idleSlot();
      if (!slot) break;
      this.assign(slot, this.queue[this.queueHead++]);
    }
    if (this.queueHead < this.queue.length || this.replacements > 0) this.scheduleUpkeep();
    if (this.queueHead > 64 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private scheduleUpkeep(): void {
    if (this.upkeepScheduled || this.closed) return;
    this.upkeepScheduled = true;
    (this.options.schedule ?? setImmediate)(() => {
      this.upkeepScheduled = false;
      this.startWorkers();
    });
  }

  /**
   * Starts workers for the jobs still waiting (counting those already starting), then in place of
   * retired ones, up to `size`. Replacements that no longer fit are not needed: jobs started workers.
   */
  private startWorkers(): void {
    if (this.closed) return;
    const starting = this.slots.reduce((count, slot) => count + (slot.ready ? 0 : 1), 0);
    const waiting = this.queue.length - this.queueHead - starting;
    for (let i = 0; i < waiting && this.slots.length < this.options.size; i++) this.spawn(true);
    for (; this.replacements > 0 && this.slots.length < this.options.size; this.replacements--) this.spawn(false);
    this.replacements = 0;
  }

  /**
   * Message workers: the longest idle, which has had the most time to prepare. Channel workers: the one
   * that finished last, which is still awake (resetting or about to sleep on its slot) and picks the
   * job up without being woken.
   */
  private idleSlot(): Slot<Request, Result> | undefined {
    const recent = this.options.channel !== undefined;
    let best: Slot<Request, Result> | undefined;
    for (const slot of this.slots) {
      if (slot.job || !slot.ready || slot.dead) continue;
      if (!best || (recent ? slot.idleSince > best.idleSince : slot.idleSince < best.idleSince)) best = slot;
    }
    return best;
  }

  private assign(slot: Slot<Request, Result>, job: Job<Request, Result>): void {
    slot.job = job;
    job.slot = slot;
    slot.worker.ref();
    job.timer = setTimeout(() => this.expire(job), job.options.deadlineMs);
    const { channel } = slot;
    const length = channel && this.options.channel?.encodeRequest(job.request, channel.data);
    if (channel && length !== undefined) {
      channel.job = job.id;
      channel.set(ChannelState.request, length);
      this.awaitReply(slot, job, channel);
      return;
    }
    const message: WorkerJobMessage<Request> = { id: job.id, request: job.request };
    slot.worker.postMessage(message);
    // A worker waiting on its slot does not read messages until woken.
    channel?.set(ChannelState.wake);
  }

  /** Waits for a reply in the slot: synchronously for the time the caller allows, then without blocking. */
  private awaitReply(slot: Slot<Request, Result>, job: Job<Request, Result>, channel: SharedChannel): void {
    let state = channel.state;
    const left = job.syncWaitUntil - performance.now();
    if (state === ChannelState.request && left > 0 && this.mayWaitSynchronously(slot)) {
      state = channel.waitWhile(ChannelState.request, left);
    }
    if (state === ChannelState.request) {
      void channel.changeFrom(ChannelState.request).then(() => this.collect(slot, job, channel));
      return;
    }
    this.collect(slot, job, channel, true);
  }

  /**
   * Only a job that is alone may wait synchronously: none other in flight, none answered synchronously
   * whose caller has not run yet, and none of either for a while (several callers at once, e.g. many
   * tasks, are better served by the workers in parallel while the host runs the engine).
   */
  private mayWaitSynchronously(slot: Slot<Request, Result>): boolean {
    const now = performance.now();
    let alone = this.undelivered === 0;
    for (const other of this.slots) if (other !== slot && other.job) alone = false;
    if (!alone) this.concurrentUntil = now + CONCURRENCY_MEMORY_MS;
    return now >= this.concurrentUntil;
  }

  private collect(slot: Slot<Request, Result>, job: Job<Request, Result>, channel: SharedChannel, synchronous = false): void {
    // Expired, aborted or closed meanwhile: that settled the job and retired the worker.
    if (slot.job !== job || slot.dead) return;
    const state = channel.state;
    // The reply travels as a message; reply() settles the job.
    if (state === ChannelState.replyByMessage) return;
    if (state !== ChannelState.reply) {
      void channel.changeFrom(state).then(() => this.collect(slot, job, channel));
      return;
    }
    const decode = this.options.channel?.decodeResult;
    let result: Result | undefined;
    let failure: unknown;
    try {
      result = decode?.(channel.data.subarray(0, channel.length));
    } catch (error) {
      failure = new Error(`code: the sandbox worker sent an unreadable reply (${error instanceof Error ? error.message : String(error)})`);
    }
    const retire = channel.retire || failure !== undefined;
    channel.set(ChannelState.idle);
    this.release(slot);
    if (retire) this.retire(slot);
    if (synchronous) {
      // Queued before the caller's continuation, so it runs after whatever was already queued.
      this.undelivered++;
      queueMicrotask(() => this.undelivered--);
    }
    this.settle(job, failure, result);
    this.dispatch();
  }

  /** `referenced`: jobs wait for this worker, so it keeps the process alive while it starts. */
  private spawn(referenced: boolean): Slot<Request, Result> {
    const { entry, eval: isSource, resourceLimits, channel: channelOptions, start } = this.options;
    const buffers = channelOptions && !start ? createChannelBuffers(channelOptions.bytes) : undefined;
    const workerData = buffers ? { ...(this.options.workerData as object), channel: buffers } : this.options.workerData;
    let worker: PoolWorker;
    if (start) worker = start();
    else if (entry === undefined) throw new Error('a worker pool needs an entry or a start function');
    // execArgv: [] — the host's flags (--input-type, loaders, --inspect) are not meant for sandbox workers.
    else worker = new Worker(entry, { eval: isSource, execArgv: [], workerData, resourceLimits, stdout: false, stderr: false });
    if (!referenced) worker.unref();
    const channel = buffers && new SharedChannel(buffers);
    const slot: Slot<Request, Result> = { worker, channel, job: undefined, idleSince: 0, ready: false, dead: false };
    worker.on('message', (received) => {
      const message = received as WorkerReplyMessage<Result> | typeof WORKER_READY;
      if (message !== WORKER_READY) return this.reply(slot, message);
      slot.ready = true;
      this.dispatch();
      if (!slot.job) worker.unref();
      this.notifyReady();
    });
    worker.on('error', (error) => this.lose(slot, error));
    worker.on('exit', (code) => this.lose(slot, new Error(`the sandbox worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private reply(slot: Slot<Request, Result>, message: WorkerReplyMessage<Result>): void {
    const job = slot.job;
    if (!job || job.id !== message.id) return;
    slot.channel?.set(ChannelState.idle);
    this.release(slot);
    if ('requeue' in message) {
      this.retire(slot);
      job.requeues = (job.requeues ?? 0) + 1;
      if (job.timer) clearTimeout(job.timer);
      if (job.requeues > MAX_REQUEUES) this.settle(job, new Error('code: no sandbox worker could run the script'));
      else this.queue.splice(this.queueHead, 0, job);
    } else {
      if (message.retire) this.retire(slot);
      this.settle(job, undefined, message.result);
    }
    this.dispatch();
  }

  /** The worker died or failed on its own: fail its job and replace it on demand. */
  private lose(slot: Slot<Request, Result>, error: Error): void {
    if (slot.dead) return;
    const job = slot.job;
    this.retire(slot);
    if (!slot.ready) {
      // It never started: starting another would fail the same way, so the waiting jobs fail now.
      const failure = new Error(`code: the sandbox worker could not start (${error.message})`);
      for (let i = this.queueHead; i < this.queue.length; i++) this.settle(this.queue[i], failure);
      this.queue.length = 0;
      this.queueHead = 0;
      // warm() waits for the workers it started: this one will never be ready.
      this.notifyReady();
      return;
    }
    if (job) {
      this.release(slot);
      this.settle(job, new Error(`code: the sandbox worker stopped unexpectedly (${error.message})`));
    }
    this.dispatch();
  }

  private expire(job: Job<Request, Result>): void {
    const slot = job.slot;
    if (!slot) return;
    this.release(slot);
    this.retire(slot);
    this.settle(job, undefined, job.options.onDeadline());
    this.dispatch();
  }

  private abort(job: Job<Request, Result>, reason: unknown): void {
    const slot = job.slot;
    if (slot) {
      // The only way to stop a running script at once is to stop its thread.
      this.release(slot);
      this.retire(slot);
    } else {
      const index = this.queue.indexOf(job, this.queueHead);
      if (index >= 0) this.queue.splice(index, 1);
    }
    this.settle(job, reason);
    this.dispatch();
  }

  private release(slot: Slot<Request, Result>): void {
    const job = slot.job;
    slot.job = undefined;
    slot.idleSince = performance.now();
    if (!slot.dead) slot.worker.unref();
    if (job) job.slot = undefined;
  }

  private retire(slot: Slot<Request, Result>): void {
    if (slot.dead) return;
    slot.dead = true;
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    void this.kill(slot);
    // Replaced at the next upkeep, so the next script does not wait for a worker to start.
    if (!this.closed && slot.ready) {
      this.replacements++;
      this.scheduleUpkeep();
    }
  }

  private async kill(slot: Slot<Request, Result>): Promise<void> {
    slot.dead = true;
    slot.worker.removeAllListeners('message');
    await slot.worker.terminate().catch(() => undefined);
  }

  private settle(job: Job<Request, Result>, error: unknown, result?: Result): void {
    if (job.settled) return;
    job.settled = true;
    if (job.timer) clearTimeout(job.timer);
    if (job.onAbort) job.options.signal?.removeEventListener('abort', job.onAbort);
    if (error === undefined) job.resolve(result as Result);
    else job.reject(error);
  }
}
