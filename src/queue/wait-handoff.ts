/**
 * Handing a task that waits for a signal (a `wait` node) to a queue worker, which continues it from the
 * report it waits with: answered (a signal), timed out, or cancelled. One hand-off wins per wait: the
 * store's claim decides. The job is queued first, delayed, carrying the owner it claims with; then the
 * wait is claimed; then the job is released. A process dying at any point between leaves the job to
 * run once its delay is over: never a task `processing` that no job will run.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TaskRecord, TaskStore } from '../store/types.js';
import type { TaskJob } from './job.js';
import { cancelKey } from './keys.js';

/** What the worker does with the waiting task. */
export type WaitHandoff = Pick<TaskJob, 'signal' | 'cancelWaiting' | 'timeout'>;

/** Default delay of a hand-off's job, should its sender die before releasing it (ms). */
export const DEFAULT_CLAIM_GRACE_MS = 30_000;

/** Hands the waiting task to a worker; false when the wait was taken meanwhile (another signal, a timeout or a cancel came first). */
export async function handOffWaitingTask(queue: Queue<TaskJob>, commands: Redis, store: TaskStore, found: TaskRecord, handoff: WaitHandoff, claimGraceMs: number): Promise<boolean> {
  const token = randomUUID();
  const claim = `signal/${token}`;
  const job: TaskJob = { taskID: found.id, schema: found.schema, inputs: found.inputs, ...handoff, claim };
  const queued = await queue.add('run', job, { jobId: `${found.id}:signal:${token}`, delay: claimGraceMs, removeOnComplete: true, removeOnFail: 1_000 });
  if (!(await store.claimWaiting(found.id, claim))) {
    await queued.remove().catch(() => undefined); // its worker would find the wait taken and drop it anyway
    return false;
  }
  await commands.del(cancelKey(found.id)); // a cancel meant for an earlier run of the task
  await queued.promote().catch(() => undefined); // already due: a worker takes it anyway
  return true;
}
