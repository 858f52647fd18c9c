import { Worker } from 'node:worker_threads';
import { workerEntry } from '../sandbox/worker-entry.js';
import { DEFAULT_BUSY_TIMEOUT_MS } from './sqlite-open.js';
import { COMPLETED, GONE, SHARED_LENGTH, type WriterCommand, type WriterReply, type WriterRequest, type WriterResult, type WriterThreadData } from './sqlite-writer-protocol.js';

interface Pending {
  resolve(result: WriterResult | undefined): void;
  reject(error: Error): void;
}

/**
 * Requests posted but not yet applied, at most: enough to keep the thread busy while the main thread
 * prepares the next batch, few enough that a writer that falls behind holds little memory.
 */
export const MAX_IN_FLIGHT = 4;
/** How long the main thread waits for room before posting anyway (the thread is stuck or gone). */
const MAX_WAIT_MS = 30_000;

/**
 * The main thread's side of the SQLite writer thread: starts it on the first request (a store that
 * is only read never starts one), posts requests in order and settles each when the thread has
 * applied it. When MAX_IN_FLIGHT requests are in flight, `request` blocks the main thread until one
 * completes: a writer that falls behind slows the producer instead of queueing without limit.
 */
export class SqliteWriterThread {
  private worker: Worker | undefined;
  /**
   * Shared with the current thread (see the protocol's COMPLETED and GONE): it can be read while the
   * event loop is blocked. Each thread gets its own, so that a failed one cannot write into its successor's.
   */
  private shared = sharedState();
  private lastID = 0;
  /** Requests awaiting their reply, oldest first: the thread answers in order. */
  private pending: Array<Pending | undefined> = [];
  private pendingHead = 0;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS,
  ) {}

  /** Requests posted and not yet applied by the thread. */
  get inFlight(): number {
    return inFlight(this.lastID, Atomics.load(this.shared, COMPLETED));
  }

  request(command: Exclude<WriterCommand, { kind: 'close' }>): Promise<WriterResult | undefined> {
    if (this.closed) return Promise.reject(new Error('store: closed'));
    const worker = this.worker ?? this.start();
    this.waitForRoom();
    const id = ++this.lastID;
    try {
      worker.postMessage({ id, ...command } satisfies WriterRequest);
    } catch (error) {
      this.lastID--; // never posted: the thread will not complete it
      return Promise.reject(error);
    }
    if (this.pendingHead === this.pending.length) worker.ref(); // a request in flight keeps the process alive
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** Waits for the requests in flight, then closes the connection and ends the thread. */
  close(): Promise<void> {
    this.closed ??= this.stop();
    return this.closed;
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const id = ++this.lastID;
    const closing = new Promise<unknown>((resolve, reject) => this.pending.push({ resolve, reject }));
    worker.ref();
    worker.postMessage({ id, kind: 'close' } satisfies WriterRequest);
    await closing.catch(() => undefined); // a thread that died has nothing left to close
    await exited;
  }

  private start(): Worker {
    const { entry, eval: isSource } = workerEntry(new URL('./sqlite-writer-worker.js', import.meta.url));
    this.shared = sharedState();
    Atomics.store(this.shared, COMPLETED, this.lastID);
    const workerData: WriterThreadData = { path: this.path, busyTimeoutMs: this.busyTimeoutMs, shared: this.shared.buffer };
    // execArgv: [] — the host's flags (loaders, --inspect) are not meant for this thread.
    const worker = new Worker(entry, { eval: isSource, execArgv: [], workerData });
    worker.unref();
    worker.on('message', (reply: WriterReply) => this.settle(worker, reply));
    // Never an unhandled 'error' event: a failed thread fails its requests (the journal warns) and the next request starts another.
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`store: SQLite writer thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private settle(worker: Worker, reply: WriterReply): void {
    const pending = this.pending[this.pendingHead];
    if (this.worker !== worker || !pending) return;
    this.pending[this.pendingHead++] = undefined;
    if (this.pendingHead === this.pending.length) {
      this.pending = [];
      this.pendingHead = 0;
      if (!this.closed) worker.unref(); // once closing, the thread keeps the process alive until it has exited
    }
    if (reply.error === undefined) pending.resolve(reply.result);
    else pending.reject(new Error(reply.error));
  }

  private fail(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    // Its requests will never complete: they no longer count as in flight.
    Atomics.store(this.shared, COMPLETED, this.lastID);
    const failed = this.pending.slice(this.pendingHead);
    this.pending = [];
    this.pendingHead = 0;
    for (const pending of failed) pending?.reject(error);
  }

  private waitForRoom(): void {
    if (this.inFlight < MAX_IN_FLIGHT) return;
    const deadline = performance.now() + MAX_WAIT_MS;
    for (let done = Atomics.load(this.shared, COMPLETED); inFlight(this.lastID, done) >= MAX_IN_FLIGHT; done = Atomics.load(this.shared, COMPLETED)) {
      // A thread that is gone completes nothing: its 'exit' event fails the requests once the event loop runs.
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.load(this.shared, GONE) === 1) return;
      Atomics.wait(this.shared, COMPLETED, done, left);
    }
  }
}

/** Requests between the last posted and the last completed; the shared counter is an Int32 that wraps after 2^31 requests. */
function inFlight(lastID: number, completed: number): number {
  return (lastID - completed) | 0;
}

function sharedState(): Int32Array<SharedArrayBuffer> {
  return new Int32Array(new SharedArrayBuffer(SHARED_LENGTH * Int32Array.BYTES_PER_ELEMENT));
}
