/**
 * A queue worker: takes tasks from the BullMQ queue and runs them on a local runtime, writing them to
 * the shared store (the same journal the runtime uses) and publishing their events to Redis.
 *
 * Delivery is at-least-once. A worker that dies mid-task stops renewing the job's lock; BullMQ's
 * stalled-job check (in every other worker) puts the job back in the queue, and the worker that
 * takes it continues the task from the checkpoints in the store's journal: finished nodes are not
 * run again, the ones that were in flight are (at-least-once per node). A workflow marked
 * `"resumable": false` is marked failed as interrupted instead, with its report rebuilt from the
 * journal. Either way no task stays `processing`.
 */
import { createHash } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TaskEvent } from '../engine/types.js';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import type { FlowgramMetrics } from '../metrics/metrics.js';
import { createRuntime, type Runtime, type RuntimeOptions, type TaskHistory } from '../runtime.js';
import { TaskJournal } from '../store/journal.js';
import { INTERRUPTED_ERROR, interruptedReport, isResumable, leftBehind } from '../store/recovery.js';
import type { TaskRecord, TaskStore } from '../store/types.js';
import { connectRedis, probeRedis } from './connection.js';
import { cancelledBeforeStartReport } from './pending-report.js';
import { TaskEventPublisher, type EventPublisherOptions } from './event-publisher.js';
import type { CancelMessage, TaskJob } from './job.js';
import { CANCEL_CHANNEL, KEY_PREFIX, QUEUE_NAME, cancelKey } from './keys.js';
import { queueStats } from './queue-stats.js';
import { DEFAULT_CLAIM_GRACE_MS, handOffWaitingTask } from './wait-handoff.js';
import { WaitTimers, waitTimeoutError, waitingInReport } from '../wait-timers.js';

export interface QueueWorkerOptions {
  /** `redis://host:port` of the queue. */
  url: string;
  /** The store every API server reads (PostgreSQL for a fleet). The worker closes it. */
  store: TaskStore;
  /** Tasks this worker runs at once. Default 8. */
  concurrency?: number;
  /** Executors, limits and network policy of the runtime that runs the tasks (its store is ignored). */
  runtimeOptions?: Omit<RuntimeOptions, 'store'>;
  /**
   * How long a job's lock lasts without renewal (ms): after a worker dies, its tasks are handed to
   * another worker within about twice this. Default 30,000 (BullMQ's default).
   */
  lockMs?: number;
  /** How many times a task is continued after losing its worker, before it is marked failed. Default 3. */
  maxReruns?: number;
  publisher?: EventPublisherOptions;
  metrics?: FlowgramMetrics;
}

export interface QueueWorker {
  readonly runtime: Runtime;
  /** Tasks running here now. */
  running(): number;
  /**
   * Stops taking jobs and lets the running ones finish for up to `graceMs`. Resolves `'finished'`
   * once everything is closed, or `'handed-back'` when the grace ran out: the running jobs are left to
   * BullMQ's stalled-job recovery, and the caller should exit the process.
   */
  close(graceMs?: number): Promise<'finished' | 'handed-back'>;
}

const ENDED = new Set(['succeeded', 'failed', 'canceled']);

/** Connects (failing fast when Redis cannot be reached) and starts taking jobs. */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  await probeRedis(options.url);
  const lockMs = options.lockMs ?? 30_000;
  const maxReruns = options.maxReruns ?? 3;
  const { store, metrics } = options;
  const commands: Redis = connectRedis(options.url, { enableAutoPipelining: true });
  const subscriber: Redis = connectRedis(options.url);
  const bullConnection: Redis = connectRedis(options.url);
  const publisher = new TaskEventPublisher(commands, options.publisher);
  // Ended tasks leave memory at once: their outcome lives in the store.
  const runtime = createRuntime({ checkpoints: true, ...options.runtimeOptions, retention: { maxTasks: 0 } });
  const journal = new TaskJournal(store);
  /** Tasks taken from the queue and not yet started, with a cancel that arrived meanwhile. */
  const claimed = new Map<string, string | undefined>();

  subscriber.on('message', (_channel: string, text: string) => {
    let message: CancelMessage;
    try {
      message = JSON.parse(text) as CancelMessage;
    } catch {
      return;
    }
    const task = runtime.getTask(message.taskID);
    if (task) task.cancel(message.reason);
    else if (claimed.has(message.taskID)) claimed.set(message.taskID, message.reason);
  });
  await subscriber.subscribe(CANCEL_CHANNEL);

  /** The task as the store has it, or as the job describes it when the store has no row (yet). */
  function recordOf(job: TaskJob, record: TaskRecord | undefined, now: number): TaskRecord {
    return (
      record ?? {
        id: job.taskID,
        schemaHash: createHash('sha256').update(job.schema).digest('hex'),
        schema: job.schema,
        inputs: job.inputs,
        status: 'pending',
        createdAt: now,
        startTime: 0,
      }
    );
  }

  /** Ends a task without running it: failed as interrupted (its last run died), or cancelled before it started. */
  async function settle(job: TaskJob, record: TaskRecord | undefined, outcome: 'interrupted' | { cancelled: string }): Promise<void> {
    const now = Date.now();
    const base = recordOf(job, record, now);
    const interrupted = outcome === 'interrupted';
    const report = interrupted ? interruptedReport(base, await leftBehind(store, job.taskID), now) : cancelledBeforeStartReport(base, outcome.cancelled, now);
    const { startTime } = report.workflowStatus;
    const status = interrupted ? ('failed' as const) : ('canceled' as const);
    const error = interrupted ? INTERRUPTED_ERROR : { code: ErrorCodes.TASK_CANCELLED, message: outcome.cancelled };
    const ended = { status, startTime, endTime: now, outputs: {}, error };
    await store.write({
      tasks: record ? [] : [{ ...base, ...ended }],
      updates: record ? [{ id: job.taskID, ...ended }] : [],
      events: [],
      reports: [{ taskID: job.taskID, reportJSON: JSON.stringify(report) }],
    });
    const finished: Extract<TaskEvent, { type: 'workflow_finished' }> = {
      type: 'workflow_finished',
      taskID: job.taskID,
      status,
      time: now,
      timeCost: now - startTime,
      outputs: {},
      error,
    };
    await publisher.publishFinished(finished, report);
    metrics?.countEnded(status);
  }

  /**
   * The waiting task a signal or cancel job is for, when the wait's claim is this job's: claimed by the
   * API server (or now, here: it died before it could) and not continued yet. 'other' when another
   * signal, timeout or cancel took the wait; undefined when this job's run was continued already.
   */
  async function claimedWait(data: TaskJob, redelivered: boolean): Promise<{ record: TaskRecord; history: TaskHistory } | 'other' | undefined> {
    const { claim } = data;
    const record = await store.getTask(data.taskID);
    if (!record || ENDED.has(record.status) || claim === undefined) return 'other';
    const ours = record.owner === claim || (record.status === 'waiting' && (await store.claimWaiting(data.taskID, claim)));
    // Not ours and not waiting: continued by another job, or by an earlier delivery of this one (it wrote its journal).
    if (!ours) return redelivered ? undefined : 'other';
    const report = await store.getReport(data.taskID);
    return report ? { record, history: { report } } : 'other';
  }

  async function run(job: Job<TaskJob>): Promise<void> {
    const data = job.data;
    const redelivered = job.attemptsStarted > 1;
    /** What the task's earlier run left, to continue from: a dead worker's journal, or a resumed or waiting task's report. */
    let earlier: { record: TaskRecord; history: TaskHistory } | undefined;
    if (data.signal || data.cancelWaiting !== undefined || data.timeout) {
      const claimed = await claimedWait(data, redelivered);
      if (claimed === 'other') return;
      earlier = claimed;
      if (earlier && redelivered) await publisher.reset(data.taskID);
    }
    if (!earlier && redelivered) {
      // Delivered again: the worker that had it stopped renewing its lock (died, or hung).
      const record = await store.getTask(data.taskID);
      if (record && ENDED.has(record.status)) return; // it had finished; only the acknowledgement was lost
      if (!isResumable(data.schema) || job.attemptsStarted > maxReruns + 1) return settle(data, record, 'interrupted');
      // A resumed task still pending had not started its new run: its report is still what to continue from.
      if (record && !((data.resume || data.rerun) && record.status === 'pending')) earlier = { record, history: await leftBehind(store, data.taskID) };
      await publisher.reset(data.taskID);
    }
    if (!earlier && data.rerun) {
      // A re-run: a new task reusing the outputs the earlier task's report holds.
      const record = await store.getTask(data.taskID);
      if (!record || ENDED.has(record.status)) return; // deleted or cancelled meanwhile
      const report = await store.getReport(data.rerun.of);
      if (!report) throw new FlowgramError(ErrorCodes.TASK_NOT_FOUND, `rerun: task "${data.rerun.of}" it re-runs was deleted before it started`);
      earlier = { record, history: { rerun: { ...data.rerun, report } } };
    }
    if (!earlier && data.resume) {
      const record = await store.getTask(data.taskID);
      const report = await store.getReport(data.taskID);
      if (!record || !report || ENDED.has(record.status)) return; // deleted meanwhile
      earlier = { record, history: { report } };
    }
    // A cancel asked before this point is in the key; one published while we read it lands in `claimed`.
    claimed.set(data.taskID, undefined);
    let cancelReason: string | null | undefined;
    try {
      cancelReason = (await commands.get(cancelKey(data.taskID))) ?? claimed.get(data.taskID);
    } finally {
      claimed.delete(data.taskID);
    }
    const running = runtime.getTask(data.taskID);
    if (running) {
      // This process still runs it (its lock was lost while it was busy): wait for that run.
      await running.done;
      return;
    }
    if (cancelReason) return settle(data, await store.getTask(data.taskID), { cancelled: cancelReason });
    const answer = data.signal
      ? { nodeID: data.signal.nodeID, answer: { outputs: data.signal.data } }
      : data.timeout
        ? { nodeID: data.timeout.nodeID, answer: { error: waitTimeoutError(data.timeout.nodeID) } }
        : undefined;
    const task = earlier ? runtime.continueTask(earlier.record, earlier.history, data.resume?.inputs, answer) : runtime.start(data.schema, data.inputs, { taskID: data.taskID });
    journal.accept(task, data.schema);
    metrics?.observe(task);
    const published = publisher.follow(task, async () => {
      if (journal.has(task.id)) await journal.flush();
    });
    if (data.cancelWaiting !== undefined) task.cancel(data.cancelWaiting);
    await task.idle();
    if (!task.ended && task.status === 'waiting') {
      // Waiting for a signal: durable in the store (status and report), held by no worker meanwhile.
      await journal.flush();
      for (const { nodeID, deadline } of task.waitingNodes()) if (deadline !== undefined) waitTimers.arm(task.id, nodeID, deadline);
      runtime.release(task.id);
      return;
    }
    await published;
  }

  /**
   * A wait's deadline passed: the task goes to a worker (maybe this one) through the queue, which times
   * the node out. False when it no longer waits on that node.
   */
  async function timeOut(taskID: string, nodeID: string): Promise<boolean> {
    const record = await store.getTask(taskID);
    const report = record?.status === 'waiting' ? await store.getReport(taskID) : undefined;
    if (!record || !report || !waitingInReport(report).some((wait) => wait.nodeID === nodeID)) return false;
    return handOffWaitingTask(handoffQueue, commands, store, record, { timeout: { nodeID } }, DEFAULT_CLAIM_GRACE_MS);
  }
  const handoffQueue = new Queue<TaskJob>(QUEUE_NAME, { connection: commands, prefix: KEY_PREFIX });
  // Waits this worker left, and every other the store holds (a dead worker's too), time out from here.
  const waitTimers = new WaitTimers(store, { due: timeOut });
  await waitTimers.watchStore(lockMs);

  const worker = new Worker<TaskJob>(QUEUE_NAME, run, {
    connection: bullConnection,
    prefix: KEY_PREFIX,
    concurrency: options.concurrency ?? 8,
    lockDuration: lockMs,
    stalledInterval: Math.max(500, Math.floor(lockMs / 2)),
    // Re-runs are bounded by our own rule (maxReruns, resumable only); BullMQ's limit would fail the
    // job silently and leave the task `processing` in the store.
    maxStalledCount: 1_000_000,
    autorun: false,
  });
  worker.on('error', (error) => process.emitWarning(`flowgram worker: ${errorMessage(error)}`, 'FlowgramQueueWarning'));
  worker.on('failed', (job, error) => {
    // The processor threw (e.g. the store was unreachable): the task must still end.
    if (!job) return;
    process.emitWarning(`flowgram worker: task ${job.data.taskID} failed to run: ${errorMessage(error)}`, 'FlowgramQueueWarning');
    void (async () => {
      const record = await store.getTask(job.data.taskID);
      if (!record || !ENDED.has(record.status)) await settle(job.data, record, 'interrupted');
    })().catch((settleError: unknown) => process.emitWarning(`flowgram worker: ${errorMessage(settleError)}`, 'FlowgramQueueWarning'));
  });
  void worker.run();
  await worker.waitUntilReady();

  const statsQueue = metrics ? new Queue(QUEUE_NAME, { connection: commands, prefix: KEY_PREFIX }) : undefined;
  if (metrics && statsQueue) metrics.watchQueue(queueStats(statsQueue));

  let closing: Promise<'finished' | 'handed-back'> | undefined;
  async function shutdown(graceMs: number): Promise<'finished' | 'handed-back'> {
    const waitTimersClosed = waitTimers.close(); // the other workers time the waits out
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'handed-back'>((resolve) => (timer = setTimeout(() => resolve('handed-back'), graceMs)));
    const outcome = await Promise.race([worker.close().then(() => 'finished' as const), graceOver]);
    clearTimeout(timer);
    // Nothing more goes to Redis: a job run again elsewhere publishes its task's events anew.
    publisher.close();
    await waitTimersClosed;
    if (outcome === 'handed-back') {
      // Leave the jobs active: their locks expire and another worker takes them. Nothing is written
      // for them here (cancelling would record them as canceled).
      await worker.close(true).catch(() => undefined);
      for (const connection of [commands, subscriber, bullConnection]) connection.disconnect();
      return outcome;
    }
    await statsQueue?.close();
    await handoffQueue.close();
    await journal.close();
    await runtime.close();
    await store.close();
    await Promise.all([commands, subscriber, bullConnection].map((connection) => connection.quit().catch(() => undefined)));
    return outcome;
  }

  return {
    runtime,
    running: () => runtime.stats().running,
    close(graceMs = 10_000) {
      if (!Number.isFinite(graceMs) || graceMs < 0) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `graceMs: must be a non-negative number, got ${graceMs}`);
      closing ??= shutdown(graceMs);
      return closing;
    },
  };
}
