import type { IReport } from '@flowgram.ai/runtime-interface';
import type { TaskSummary } from '../engine/task.js';
import type { TaskEvent, WorkflowStatusName } from '../engine/types.js';
import type { WorkflowInputs, WorkflowOutputs } from '../schema/types.js';

/**
 * A store method's result: the SQLite and memory stores answer synchronously, a network store
 * (PostgreSQL) returns promises. The runtime awaits every result, so both work.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Why a task ended, as stored. */
export interface StoredTaskError {
  code: string;
  message: string;
  nodeID?: string;
}

/** A task as stored: what it ran, its status, and (once ended) its outcome. */
export interface TaskRecord {
  id: string;
  /** SHA-256 (hex) of `schema`; schemas are stored once per hash. */
  schemaHash: string;
  /** The workflow schema as JSON text. */
  schema: string;
  inputs: WorkflowInputs;
  /** The workflow's name for listings and search (`workflowTitle` of the schema); '' when unknown. */
  title?: string;
  status: WorkflowStatusName;
  /** When the task was accepted (ms since epoch). */
  createdAt: number;
  /** When it started running; 0 while pending. */
  startTime: number;
  endTime?: number;
  /** `{}` unless it succeeded. */
  outputs?: WorkflowOutputs;
  error?: StoredTaskError;
  /**
   * The runtime running it (see `TaskStore.heartbeat`); unset for tasks written before owners were
   * recorded, or by a writer that recovers nothing (a queue worker): recovery treats those as abandoned.
   */
  owner?: string;
  /** The task whose outputs this one reused (`runtime.rerun`). */
  rerunOf?: string;
}

/** A status change of a task written in an earlier batch. */
export interface TaskUpdate {
  id: string;
  status: WorkflowStatusName;
  startTime: number;
  endTime?: number;
  outputs?: WorkflowOutputs;
  error?: StoredTaskError;
}

/**
 * One atomic write (one transaction), applied in field order. The runtime builds batches from task
 * events; the store only writes them.
 */
export interface StoreBatch {
  /** New tasks, inserted whole (a task that started and ended within one batch arrives here already ended). Replaces a task with the same ID. */
  tasks: TaskRecord[];
  /** Status changes of tasks inserted by an earlier batch. */
  updates: TaskUpdate[];
  /**
   * The journal of running tasks: node status changes and snapshots (progress), oldest first.
   * Recovery rebuilds an interrupted task's report from it.
   */
  events: TaskEvent[];
  /**
   * Final reports, as `IReport` JSON text (the runtime serializes each once, without copying it first).
   * Writing one drops the task's journal: the report holds every node's status and snapshots.
   */
  reports: Array<{ taskID: string; reportJSON: string }>;
}

/** A listing query; the same filter as `Runtime.listTasks`. */
export interface StoreListFilter {
  status?: WorkflowStatusName;
  /** Tasks started at or after this time (ms since epoch). */
  since?: number;
  /** Tasks started before this time (ms since epoch). */
  until?: number;
  /** Tasks whose ID or title contains this text (case-insensitive). */
  q?: string;
  limit: number;
  offset: number;
}

/** What `countTasks` counts: the listing filter without status and paging. */
export type StoreCountFilter = Omit<StoreListFilter, 'status' | 'limit' | 'offset'>;

/** How many tasks have each status. */
export type TaskCounts = Record<WorkflowStatusName, number>;

/** How much history a store keeps; only ended tasks are ever pruned. */
export interface StoreRetention {
  /** Ended tasks older than this (by end time) are deleted. Default 7 days. */
  maxAgeMs?: number;
  /** At most this many ended tasks are kept, the newest. Default 100,000. */
  maxTasks?: number;
  /** How often pruning runs in the background (ms). Default 60,000. */
  intervalMs?: number;
}

/** A secret as stored: its value only ever sealed (encrypted by src/secrets), never in plain text. */
export interface SealedSecret {
  name: string;
  /** base64 of nonce | tag | ciphertext (AES-256-GCM). */
  sealed: string;
  createdAt: number;
  updatedAt: number;
}

/** The secrets table of a database store; the store never sees a key or a plain value. */
export interface SecretTable {
  listSecrets(): MaybePromise<SealedSecret[]>;
  getSecret(name: string): MaybePromise<SealedSecret | undefined>;
  /** Inserts or replaces the value; `createdAt` of an existing secret is kept. */
  putSecret(name: string, sealed: string, now: number): MaybePromise<void>;
  /** False when unknown. */
  deleteSecret(name: string): MaybePromise<boolean>;
}

/**
 * Where tasks, their journal and their reports survive the process. Small on purpose: a PostgreSQL
 * implementation maps each method to one statement or one transaction.
 *
 * Durability contract: `write` is durable when its result settles (returns, for a synchronous store).
 */
export interface TaskStore {
  /**
   * Applies one batch atomically. The runtime calls it again without waiting for the previous write
   * to settle: a store applies batches, and settles their results, in call order.
   */
  write(batch: StoreBatch): MaybePromise<void>;
  getTask(taskID: string): MaybePromise<TaskRecord | undefined>;
  getReport(taskID: string): MaybePromise<IReport | undefined>;
  /** Tasks newest first (by acceptance), filtered and paged. */
  listTasks(filter: StoreListFilter): MaybePromise<TaskSummary[]>;
  /** How many tasks match the filter, per status (listings show totals and page counts from it). */
  countTasks(filter: StoreCountFilter): MaybePromise<TaskCounts>;
  /** Deletes a task, its journal and its report; false when unknown. */
  deleteTask(taskID: string): MaybePromise<boolean>;
  /**
   * Records that the runtime `owner` is alive now (by the store's clock), or with `alive` false that
   * it closed (its tasks are written): its mark goes. Runtimes sharing a store recover only the tasks
   * of owners whose mark is gone or stale.
   */
  heartbeat(owner: string, alive: boolean): MaybePromise<void>;
  /** The owners that have a heartbeat mark now, stale or not. */
  listOwners(): MaybePromise<string[]>;
  /**
   * Takes over, atomically, the tasks still `pending` or `processing` whose owner is not alive (no
   * heartbeat within `leaseMs`, or no owner) and is not `owner`, and returns them (in acceptance
   * order) with `owner` as their owner: when runtimes claim at once, each task goes to one of them.
   */
  claimAbandoned(owner: string, leaseMs: number): MaybePromise<TaskRecord[]>;
  /**
   * Takes over, atomically, a task that waits for a signal: its status `waiting` becomes `processing`
   * with `owner` as its owner. False when it does not wait (any more): when two signals (or a signal and a
   * wait's timeout) race, on any number of runtimes, exactly one gets true.
   */
  claimWaiting(taskID: string, owner: string | undefined): MaybePromise<boolean>;
  /** The journal of a task (recovery), oldest first. */
  getEvents(taskID: string): MaybePromise<TaskEvent[]>;
  /** Deletes ended tasks beyond the retention policy; returns how many. Also run by the store in the background. */
  prune(now?: number): MaybePromise<number>;
  /** Stops background work and releases the database. */
  close(): MaybePromise<void>;
  /** The encrypted secrets table, in stores that have one (SQLite, PostgreSQL). */
  readonly secrets?: SecretTable;
}
