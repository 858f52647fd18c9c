import type { BatchRows } from './sqlite-rows.js';
import type { TaskRecord } from './types.js';

/** What the main thread and the SQLite writer thread say to each other. */

export interface WriterThreadData {
  path: string;
  busyTimeoutMs: number;
  /** The buffer of an Int32Array laid out as `COMPLETED` / `GONE`; the main thread reads it while its event loop is blocked. */
  shared: SharedArrayBuffer;
}

/** Index of the ID of the last request the thread completed; the thread notifies waiters on it. */
export const COMPLETED = 0;
/** Index of a flag the thread sets as it ends: nothing more will complete. */
export const GONE = 1;
export const SHARED_LENGTH = 2;

/** What the thread is asked to do: the `SqliteWriter` methods, and closing its connection. */
export type WriterCommand =
  | { kind: 'write'; rows: BatchRows }
  | { kind: 'delete'; taskID: string }
  | { kind: 'prune'; now: number; maxAgeMs: number; maxTasks: number }
  | { kind: 'heartbeat'; owner: string; alive: boolean }
  | { kind: 'claim'; owner: string; leaseMs: number }
  | { kind: 'claim-waiting'; taskID: string; owner: string | null }
  | { kind: 'secret-put'; name: string; sealed: string; now: number }
  | { kind: 'secret-delete'; name: string }
  | { kind: 'close' };

export type WriterRequest = { id: number } & WriterCommand;

export type WriterResult = boolean | number | TaskRecord[];

export interface WriterReply {
  id: number;
  /** What `deleteTask` / `prune` / `claimAbandoned` return. */
  result?: WriterResult;
  /** The request failed (it was rolled back); the thread takes the next one. */
  error?: string;
}
