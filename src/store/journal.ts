import { createHash } from 'node:crypto';
import type { Task } from '../engine/task.js';
import type { TaskEvent } from '../engine/types.js';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import { workflowTitle } from '../schema/workflow-title.js';
import { isDeadLocalOwner } from './owner.js';
import { INTERRUPTED_ERROR, interruptedReport, isResumable, journalReport, leftBehind, type LeftBehind } from './recovery.js';
import type { StoreBatch, TaskRecord, TaskStore, TaskUpdate } from './types.js';

export interface JournalOptions {
  /** Node events of running tasks are written at least this often (ms). Default 200. */
  flushIntervalMs?: number;
  /** Written at once (in a microtask) when this many node events are waiting. Default 2,000. */
  maxPendingEvents?: number;
  /** Written at once (in a microtask) when this many ended tasks are waiting. Default 500. */
  maxPendingEnded?: number;
  /** The runtime this journal writes for, stored as the owner of its tasks (see `startRecovery`). */
  owner?: string;
}

export interface RecoveryOptions {
  /**
   * A runtime whose heartbeat is older than this (ms) is dead: its unfinished tasks are settled by
   * another runtime on the store. Heartbeats are written every `leaseMs / 3`, recovery runs every
   * `leaseMs`. Default 30,000.
   */
  leaseMs?: number;
}

export const DEFAULT_LEASE_MS = 30_000;

/** Continues a task a dead runtime left, from its journal (the checkpoints its run wrote) or, with none, its stored report. */
export type ResumeTask = (record: TaskRecord, left: LeftBehind) => void;

/** What the journal holds for a task until the next write. */
interface PendingTask {
  readonly task: Task;
  /** Set until the task's row has been written. */
  accepted: TaskRecord | undefined;
  /** Its status changed since its row was written. */
  changed: boolean;
  events: TaskEvent[];
}

interface SchemaText {
  hash: string;
  text: string;
}

const MAX_CACHED_SCHEMA_STRINGS = 256;

/**
 * Persists tasks by consuming their events; the engine and the executors never call it. Writes are
 * batched, one transaction per batch, and handed to the store without waiting for earlier ones (the
 * store commits them in order; `flush` resolves once they are durable):
 * - an accepted task is handed over at the end of the current synchronous stretch (a microtask):
 *   a caller that announces it (e.g. a server before it responds) awaits `flush()` first; tasks
 *   started in a loop share one transaction;
 * - an ended task (its final state and report) is written on the next turn of the event loop;
 *   a task that ends before its row is written is inserted once, already ended, and its node
 *   events are never written: the report holds them all;
 * - node events of running tasks (the journal recovery reads) are written every `flushIntervalMs`.
 */
export class TaskJournal {
  private readonly pending = new Map<string, PendingTask>();
  /** Accepted since the last accept write. */
  private accepted: PendingTask[] = [];
  private pendingEvents = 0;
  private pendingEnded = 0;
  /** What the next microtask write covers: new tasks only, or everything (a threshold was reached). */
  private microtaskScope: 'accepted' | 'all' | undefined;
  /** Only the last microtask queued writes, so that it runs after the tasks started before it. */
  private microtaskTicket = 0;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The last write of an asynchronous store, until it settles. */
  private writing: Promise<void> | undefined;
  /** What each task was accepted with, to write it again whole when a batch holding it failed. */
  private readonly records = new WeakMap<Task, TaskRecord>();
  /** Set while the store cannot write at all; the next write (or heartbeat) that succeeds clears it. */
  private storeFailure: FlowgramError | undefined;
  /** Tasks whose last write failed while the store could not write: written again whole once it can. */
  private readonly unwritten = new Set<Task>();
  private readonly schemaObjects = new WeakMap<object, SchemaText>();
  /** Tasks written as waiting (their report is their checkpoint): continued, they are written whole again. */
  private readonly parked = new WeakSet<Task>();
  private readonly schemaStrings = new Map<string, SchemaText>();
  private readonly flushIntervalMs: number;
  private readonly maxPendingEvents: number;
  private readonly maxPendingEnded: number;
  private readonly owner: string | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private recoveryTimer: NodeJS.Timeout | undefined;
  /** The recovery running now, if any: runs never overlap. */
  private recovering: Promise<void> | undefined;
  /** The heartbeat the store has not answered yet, if any. */
  private beating: Promise<void> | undefined;
  /**
   * Tasks claimed but not yet written as failed (the write failed): they are ours now, so no other
   * runtime will settle them; the next recovery tries again.
   */
  private unsettled: TaskRecord[] = [];

  constructor(
    readonly store: TaskStore,
    options: JournalOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.maxPendingEvents = options.maxPendingEvents ?? 2_000;
    this.maxPendingEnded = options.maxPendingEnded ?? 500;
    this.owner = options.owner;
  }

  /** Records a task the runtime has just accepted, and follows it until it ends. */
  accept(task: Task, schema: string | object): void {
    const { hash, text } = this.schemaText(schema);
    const record: TaskRecord = { id: task.id, schemaHash: hash, schema: text, inputs: task.storedInputs, title: workflowTitle(task.schema), status: task.status, createdAt: Date.now(), startTime: 0, owner: this.owner };
    if (task.rerunOf !== undefined) record.rerunOf = task.rerunOf;
    this.records.set(task, record);
    const entry: PendingTask = { task, accepted: { ...record }, changed: true, events: [] };
    this.pending.set(task.id, entry);
    this.accepted.push(entry);
    if (task.ended) {
      this.endedOne(); // its report holds everything: no journal
    } else {
      for (const event of task.events()) if (isJournaled(event)) entry.events.push(event);
      this.pendingEvents += entry.events.length;
      const unsubscribe = task.subscribe(
        (event) => {
          this.onEvent(task, event);
          if (event.type === 'workflow_finished') unsubscribe();
        },
        { replay: false },
      );
    }
    this.queueMicrotaskWrite('accepted');
  }

  /**
   * Whether something of this task may not be durable yet: it waits to be written, or writes of an
   * asynchronous store are still in flight (which tasks they hold is not tracked: that would cost
   * every write).
   */
  has(taskID: string): boolean {
    return this.pending.has(taskID) || this.writing !== undefined;
  }

  /** Resolves once what the journal holds of this task is durable: written now if pending, else once the writes in flight are. */
  durable(taskID: string): Promise<void> {
    if (this.pending.has(taskID)) return this.flush();
    return this.writing ?? Promise.resolve();
  }

  /** Writes everything pending; resolves when it is durable (or could not be written: see `failure`). Never rejects. */
  flush(): Promise<void> {
    if (!this.storeFailure) this.writeUnwritten();
    this.write(...this.takeAll());
    return this.writing ?? Promise.resolve();
  }

  /**
   * Why the store cannot write at all, while it cannot: a batch failed and so did the smallest write
   * of one of its tasks (or a heartbeat failed). Undefined once a write succeeds again.
   */
  get failure(): FlowgramError | undefined {
    return this.storeFailure;
  }

  /**
   * Keeps this journal's owner alive in the store (a heartbeat every `leaseMs / 3`) and settles the
   * tasks of dead runtimes now and every `leaseMs`: re-runs the resumable ones through `resume` and
   * marks the others failed with `INTERRUPTED_MESSAGE`, their report rebuilt from the journal. A task
   * is settled only once its owner's heartbeat is gone or stale, so runtimes sharing a store (a
   * rolling restart, several servers on one database) never settle each other's running tasks.
   * Resolves when the first recovery is done; never rejects.
   */
  startRecovery(resume: ResumeTask, options: RecoveryOptions = {}): Promise<void> {
    const owner = this.owner;
    if (owner === undefined) throw new Error('journal: recovery needs an owner');
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    // Before any task of ours is written: peers must never see one of our tasks without our heartbeat.
    this.beat(owner, true);
    this.heartbeatTimer = setInterval(() => this.beat(owner, true), leaseMs / 3);
    this.recoveryTimer = setInterval(() => void this.recover(owner, leaseMs, resume), leaseMs);
    // Timers alone must not keep the process alive.
    this.heartbeatTimer.unref();
    this.recoveryTimer.unref();
    return this.recover(owner, leaseMs, resume);
  }

  private recover(owner: string, leaseMs: number, resume: ResumeTask): Promise<void> {
    // Never rejects: a store that cannot be read now leaves the tasks for the next run.
    this.recovering ??= this.settleAbandoned(owner, leaseMs, resume)
      .catch((error: unknown) => {
        process.emitWarning(`flowgram store: recovering interrupted tasks failed: ${errorMessage(error)}`, 'FlowgramStoreWarning');
      })
      .finally(() => {
        this.recovering = undefined;
      });
    return this.recovering;
  }

  private async settleAbandoned(owner: string, leaseMs: number, resume: ResumeTask): Promise<void> {
    // A runtime of this machine whose process is gone (a restart after a crash) need not wait for its lease.
    for (const other of await this.store.listOwners()) if (isDeadLocalOwner(other)) await this.store.heartbeat(other, false);
    const claimed = await this.store.claimAbandoned(owner, leaseMs);
    const toFail = this.unsettled;
    for (const record of claimed) {
      if (isResumable(record.schema)) {
        try {
          resume(record, await leftBehind(this.store, record.id));
          continue;
        } catch {
          // Cannot continue (e.g. its node types are gone): it fails like any interrupted task.
        }
      }
      toFail.push(record);
    }
    if (toFail.length === 0) return;
    const now = Date.now();
    const batch = emptyBatch();
    for (const record of toFail) {
      const report = interruptedReport(record, await leftBehind(this.store, record.id), now);
      const { startTime } = report.workflowStatus;
      batch.updates.push({ id: record.id, status: 'failed', startTime, endTime: now, outputs: {}, error: INTERRUPTED_ERROR });
      batch.reports.push({ taskID: record.id, reportJSON: JSON.stringify(report) });
    }
    await this.store.write(batch);
    this.unsettled = [];
  }

  /**
   * A heartbeat is also the probe that tells a failing store has recovered. While one still waits for
   * the store (a locked SQLite file holds it up to `busyTimeoutMs`, which may be longer than the
   * interval), the next ones are skipped instead of queueing behind it without bound.
   */
  private beat(owner: string, alive: boolean): Promise<void> {
    if (alive && this.beating) return this.beating;
    const beating = this.sendBeat(owner, alive).finally(() => {
      if (this.beating === beating) this.beating = undefined;
    });
    this.beating = beating;
    return beating;
  }

  private sendBeat(owner: string, alive: boolean): Promise<void> {
    const failed = (error: unknown): void => {
      this.failed(error);
      warnHeartbeatFailed(error);
    };
    const succeeded = (): void => {
      this.storeFailure = undefined;
      this.writeUnwritten();
    };
    try {
      const result = this.store.heartbeat(owner, alive);
      if (result instanceof Promise) return result.then(succeeded, failed);
      succeeded();
    } catch (error) {
      failed(error);
    }
    return Promise.resolve();
  }

  private failed(error: unknown): void {
    this.storeFailure = new FlowgramError(ErrorCodes.STORE_UNAVAILABLE, `store: cannot write (${errorMessage(error)}); new tasks are refused until it can`, {
      cause: error,
    });
  }

  /**
   * Stops recovering, writes what is pending and stops the timers; then, once its tasks are written
   * (the runtime cancelled the unfinished ones), removes the owner's heartbeat. The store stays open.
   */
  async close(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.recoveryTimer);
    const recovering = this.recovering;
    const started = this.heartbeatTimer !== undefined;
    this.heartbeatTimer = undefined;
    this.recoveryTimer = undefined;
    await recovering;
    await this.flush();
    this.cancelTimers();
    if (started && this.owner !== undefined) await this.beat(this.owner, false);
  }

  private onEvent(task: Task, event: TaskEvent): void {
    let entry = this.pending.get(task.id);
    if (!entry) {
      entry = { task, accepted: undefined, changed: false, events: [] };
      this.pending.set(task.id, entry);
    }
    switch (event.type) {
      case 'workflow_started':
        entry.changed = true;
        if (this.parked.delete(task)) this.rewriteWhole(entry);
        else this.scheduleTimer();
        return;
      case 'workflow_waiting':
        // Nothing runs until a signal: its report is its checkpoint, written at once (the journal goes).
        entry.changed = true;
        this.parked.add(task);
        this.pendingEvents -= entry.events.length;
        entry.events = [];
        this.endedOne();
        return;
      case 'workflow_finished':
        entry.changed = true;
        this.pendingEvents -= entry.events.length;
        entry.events = [];
        this.endedOne();
        return;
      case 'node_progress': {
        // Progress merges into the snapshot, so consecutive progress of a node merges too.
        const last = entry.events[entry.events.length - 1];
        if (last?.type === 'node_progress' && last.nodeID === event.nodeID) {
          entry.events[entry.events.length - 1] = { ...last, data: { ...last.data, ...event.data }, time: event.time };
          return;
        }
        break;
      }
      case 'message':
        return; // kept in the report
    }
    entry.events.push(event);
    // A microtask, not setImmediate: a caller starting tasks from promise callbacks never yields to the event loop.
    if (++this.pendingEvents >= this.maxPendingEvents) this.queueMicrotaskWrite('all');
    else this.scheduleTimer();
  }

  /**
   * A waiting task runs again (a signal answered it here): its row is written again whole, with the
   * journal of every node so far, so that recovery finds all its checkpoints in the journal.
   */
  private rewriteWhole(entry: PendingTask): void {
    entry.accepted = this.recordOf(entry.task);
    this.pendingEvents -= entry.events.length;
    entry.events = entry.task.events().filter(isJournaled);
    this.pendingEvents += entry.events.length;
    this.accepted.push(entry);
    this.queueMicrotaskWrite('accepted');
  }

  private endedOne(): void {
    if (++this.pendingEnded >= this.maxPendingEnded) this.queueMicrotaskWrite('all');
    else this.scheduleImmediate();
  }

  /**
   * Queues the write in a microtask. Each call queues a new one and only the last one writes: it
   * runs after the microtasks the engine queued while those tasks started, so a workflow that
   * completes synchronously has ended by then and is written once.
   */
  private queueMicrotaskWrite(scope: 'accepted' | 'all'): void {
    if (this.microtaskScope !== 'all') this.microtaskScope = scope;
    const ticket = ++this.microtaskTicket;
    queueMicrotask(() => {
      if (ticket !== this.microtaskTicket) return;
      const all = this.microtaskScope === 'all';
      this.microtaskScope = undefined;
      if (all) this.write(...this.takeAll());
      else this.writeAccepted();
    });
  }

  private writeAccepted(): void {
    const batch = emptyBatch();
    const tasks: Task[] = [];
    for (const entry of this.accepted) {
      // An ended task is written whole, with its report, by the next write of ended tasks.
      if (!entry.accepted || entry.task.ended || this.pending.get(entry.task.id) !== entry) continue;
      batch.tasks.push(withState(entry.accepted, entry.task));
      tasks.push(entry.task);
      entry.accepted = undefined;
      entry.changed = false;
      // With the row: a resumed task's row replaces its earlier run, checkpoints included, so they must not wait.
      for (const event of entry.events) batch.events.push(event);
      this.pendingEvents -= entry.events.length;
      entry.events = [];
    }
    this.accepted = [];
    this.write(batch, tasks);
  }

  private takeAll(): [StoreBatch, Task[]] {
    this.cancelTimers();
    const batch = emptyBatch();
    const tasks: Task[] = [];
    for (const entry of this.pending.values()) {
      const { task } = entry;
      tasks.push(task);
      let reportJSON: string | undefined;
      try {
        if (task.ended || task.status === 'waiting') reportJSON = task.reportJSON();
      } catch (error) {
        // This task alone cannot be written as it is: it is written as failed, saying why.
        const { record, report } = this.unstorable(task, error);
        batch.tasks.push(record);
        batch.reports.push(report);
        continue;
      }
      if (entry.accepted) batch.tasks.push(withState(entry.accepted, task));
      else if (entry.changed) batch.updates.push(withState({ id: task.id, status: task.status, startTime: 0 }, task));
      if (reportJSON !== undefined) batch.reports.push({ taskID: task.id, reportJSON });
      else for (const event of entry.events) batch.events.push(event);
    }
    this.pending.clear();
    this.accepted = [];
    this.pendingEvents = 0;
    this.pendingEnded = 0;
    return [batch, tasks];
  }

  /**
   * Hands the batch to the store at once, without waiting for earlier writes to settle: the store
   * applies batches in call order (see `TaskStore.write`), so writes overlap with the runtime's work.
   * A batch that fails (a value that cannot be serialized, a row too big, a store that cannot write)
   * is written again task by task, so that one task's failure never costs the others theirs.
   */
  private write(batch: StoreBatch, tasks: readonly Task[]): void {
    if (batch.tasks.length + batch.updates.length + batch.events.length + batch.reports.length === 0) return;
    const outcome = attempt(this.store, batch);
    if (outcome === undefined) {
      this.storeFailure = undefined;
      return;
    }
    const recovered = outcome.then((error) => {
      if (error === undefined) {
        this.storeFailure = undefined;
        return;
      }
      warnWriteFailed(error);
      return this.rewrite(tasks, error);
    });
    // Batches settle in order, so the last one settling means all have.
    const settled: Promise<void> = recovered.finally(() => {
      if (this.writing === settled) this.writing = undefined;
    });
    this.writing = settled;
  }

  /**
   * After a failed batch: each of its tasks is written again whole, as it is now (so later batches
   * that were applied meanwhile are not undone); a task that still cannot be written is written as
   * failed with the reason. If even that fails, the store cannot write at all (`failure`).
   */
  private async rewrite(tasks: readonly Task[], batchError: unknown): Promise<void> {
    const failures = new Map<Task, unknown>();
    if (tasks.length === 1) failures.set(tasks[0], batchError);
    else {
      const outcomes = await Promise.all(tasks.map((task) => this.writeWhole(task)));
      outcomes.forEach((error, i) => error !== undefined && failures.set(tasks[i], error));
    }
    for (const [task, error] of failures) {
      const { record, report } = this.unstorable(task, error);
      const substituteError = await (attempt(this.store, { ...emptyBatch(), tasks: [record], reports: [report] }) ?? Promise.resolve(undefined));
      if (substituteError !== undefined) {
        // Not even a one-row write: new tasks are refused until a write succeeds, then these are written again.
        this.failed(substituteError);
        warnWriteFailed(substituteError);
        for (const unwritten of failures.keys()) this.unwritten.add(unwritten);
        return;
      }
    }
    this.storeFailure = undefined;
  }

  /** Writes again, whole and as they are now, the tasks an outage of the store left unwritten. */
  private writeUnwritten(): void {
    if (this.unwritten.size === 0) return;
    const tasks = [...this.unwritten];
    this.unwritten.clear();
    const batch = emptyBatch();
    for (const task of tasks) {
      let part: StoreBatch;
      try {
        part = this.whole(task);
      } catch (error) {
        const { record, report } = this.unstorable(task, error);
        part = { ...emptyBatch(), tasks: [record], reports: [report] };
      }
      batch.tasks.push(...part.tasks);
      batch.events.push(...part.events);
      batch.reports.push(...part.reports);
    }
    this.write(batch, tasks);
  }

  /** Writes the task whole; resolves with the error if it could not be (serialized or written). */
  private writeWhole(task: Task): Promise<unknown> {
    let batch: StoreBatch;
    try {
      batch = this.whole(task);
    } catch (error) {
      return Promise.resolve(error);
    }
    return attempt(this.store, batch) ?? Promise.resolve(undefined);
  }

  /** A task as it is now, as one batch: its row, and its report once ended or its journal while it runs. */
  private whole(task: Task): StoreBatch {
    const batch = emptyBatch();
    batch.tasks.push(withState(this.recordOf(task), task));
    if (task.ended || task.status === 'waiting') batch.reports.push({ taskID: task.id, reportJSON: task.reportJSON() });
    else for (const event of task.events()) if (isJournaled(event)) batch.events.push(event);
    return batch;
  }

  private recordOf(task: Task): TaskRecord {
    const record = this.records.get(task);
    if (!record) throw new Error(`journal: task ${task.id} was never accepted`);
    return { ...record };
  }

  /** The task as failed with FLOWGRAM_ERR_STORE_WRITE_FAILED: what of it can be written whatever it holds. */
  private unstorable(task: Task, cause: unknown): { record: TaskRecord; report: { taskID: string; reportJSON: string } } {
    const now = Date.now();
    const base = this.recordOf(task);
    const error = {
      code: ErrorCodes.STORE_WRITE_FAILED,
      message: `store: this task could not be written (${errorMessage(cause)}); it is stored as failed`,
    };
    const summary = task.summary();
    const record: TaskRecord = {
      ...base,
      inputs: serializable(base.inputs) ? base.inputs : {},
      status: 'failed',
      startTime: summary.startTime,
      endTime: summary.endTime ?? now,
      outputs: {},
      error,
    };
    const report = journalReport(record, [], now, { id: `${task.id}:store`, type: 'error', message: error.message, timestamp: now });
    return { record, report: { taskID: task.id, reportJSON: JSON.stringify(report) } };
  }

  private scheduleImmediate(): void {
    if (this.immediate) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.write(...this.takeAll());
    });
  }

  private scheduleTimer(): void {
    if (this.timer || this.immediate) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write(...this.takeAll());
    }, this.flushIntervalMs);
    // Running tasks keep the process alive; the journal alone must not.
    this.timer.unref();
  }

  private cancelTimers(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }

  /** Schemas are hashed once: by identity for objects, by content for strings (as the runtime compiles them). */
  private schemaText(schema: string | object): SchemaText {
    if (typeof schema === 'string') {
      let cached = this.schemaStrings.get(schema);
      if (!cached) {
        cached = { hash: sha256(schema), text: schema };
        if (this.schemaStrings.size >= MAX_CACHED_SCHEMA_STRINGS) this.schemaStrings.clear();
        this.schemaStrings.set(schema, cached);
      }
      return cached;
    }
    let cached = this.schemaObjects.get(schema);
    if (!cached) {
      const text = JSON.stringify(schema);
      cached = { hash: sha256(text), text };
      this.schemaObjects.set(schema, cached);
    }
    return cached;
  }
}

/**
 * Sets the task's status and outcome as they are now on `target`, and returns it: the journal's own
 * record of an accepted task (written once, so it is completed in place) or a new update.
 */
function withState<T extends TaskUpdate>(target: T, task: Task): T {
  const summary = task.summary();
  target.status = summary.status;
  target.startTime = summary.startTime;
  if (summary.endTime !== undefined) target.endTime = summary.endTime;
  if (task.ended) {
    target.outputs = task.result() ?? {};
    const error = task.error;
    if (error && summary.status !== 'succeeded') target.error = error.nodeID === undefined ? { code: error.code, message: error.message } : { ...error };
  }
  return target;
}

function isJournaled(event: TaskEvent): boolean {
  return event.type === 'node_started' || event.type === 'node_finished' || event.type === 'node_progress' || event.type === 'loop_iteration' || event.type === 'node_waiting';
}

/**
 * Writes a batch: undefined when a synchronous store committed it, else a promise of the error (or
 * undefined once committed). Never throws or rejects: a failed write is the caller's to handle.
 */
function attempt(store: TaskStore, batch: StoreBatch): Promise<unknown> | undefined {
  try {
    const result = store.write(batch);
    if (result instanceof Promise) return result.then(() => undefined, (error: unknown) => error ?? new Error('store: write failed'));
    return undefined;
  } catch (error) {
    return Promise.resolve(error ?? new Error('store: write failed'));
  }
}

function serializable(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

function emptyBatch(): StoreBatch {
  return { tasks: [], updates: [], events: [], reports: [] };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function warnHeartbeatFailed(error: unknown): void {
  // Peers may take this runtime for dead after a lease without heartbeats, and settle its tasks.
  process.emitWarning(`flowgram store: heartbeat failed: ${errorMessage(error)}`, 'FlowgramStoreWarning');
}

function warnWriteFailed(error: unknown): void {
  // The tasks keep running; what this batch held is lost for the store (a restart would miss it).
  process.emitWarning(`flowgram store: write failed: ${errorMessage(error)}`, 'FlowgramStoreWarning');
}
