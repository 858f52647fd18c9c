/**
 * The server's TaskService in queue mode: tasks are enqueued for workers instead of run here, and every
 * answer comes from what the fleet shares, so any API server answers for any task. Status, outputs and
 * final reports come from the shared store; a running task's report and events from Redis (its
 * worker refreshes them); a cancel is published to every worker and remembered for one that has not
 * picked the task up yet.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { IReport } from '@flowgram.ai/runtime-interface';
import { ErrorCodes, FlowgramError } from '../errors.js';
import type { FlowgramMetrics } from '../metrics/metrics.js';
import type { Runtime } from '../runtime.js';
import type { IJsonSchema } from '../schema/types.js';
import { parseInputsInput, parseSchemaInput } from '../schema/parse.js';
import { workflowTitle } from '../schema/workflow-title.js';
import { noResult, taskNotFound } from '../server/errors.js';
import { createTaskService, listing, type HealthStatus, type TaskService } from '../server/task-service.js';
import type { TaskRecord, TaskStore } from '../store/types.js';
import { TaskAdmission } from './admission.js';
import { connectRedis, probeRedis } from './connection.js';
import { TaskEventReader } from './event-reader.js';
import type { CancelMessage, TaskJob } from './job.js';
import { CANCEL_CHANNEL, KEY_PREFIX, QUEUE_NAME, cancelKey, eventsKey, reportKey } from './keys.js';
import { pendingReport } from './pending-report.js';
import { queueStats } from './queue-stats.js';
import { DEFAULT_CLAIM_GRACE_MS, handOffWaitingTask, type WaitHandoff } from './wait-handoff.js';
import { waitingInReport } from '../wait-timers.js';
import { checkSignal } from '../waiting-tasks.js';

export interface QueueServiceOptions {
  /** `redis://host:port` of the queue. */
  url: string;
  /** The store the workers write (PostgreSQL for a fleet); closed by `close()`. */
  store: TaskStore;
  metrics?: FlowgramMetrics;
  /** How long a cancel request waits for a worker to pick its task up (s). Default 86,400. */
  cancelTTLSeconds?: number;
  /**
   * A signal's (or a waiting task's cancel's) job is queued, delayed by this, before the wait is claimed
   * in the store, and handed over at once after: if this server dies in between, a worker takes the job
   * once the delay is over (ms). Default 30,000.
   */
  claimGraceMs?: number;
}

/** A TaskService that also releases its connections. */
export interface QueueTaskService extends TaskService {
  close(): Promise<void>;
}

const ENDED = new Set(['succeeded', 'failed', 'canceled']);
const HEALTH_REFRESH_MS = 1_000;

/**
 * Connects to Redis (failing fast with a clear error when it cannot be reached) and returns a factory
 * for `createServer({ taskService })`, which hands it the server's runtime (used to validate only).
 */
/** The record of a task the API server accepts and queues (a worker runs it). */
function acceptedRecord(prepared: ReturnType<Runtime['prepareSchema']>, inputs: TaskRecord['inputs'], rerunOf?: string): TaskRecord {
  const schema = typeof prepared === 'string' ? prepared : JSON.stringify(prepared);
  return {
    id: randomUUID(),
    schemaHash: createHash('sha256').update(schema).digest('hex'),
    schema,
    inputs,
    title: workflowTitle(typeof prepared === 'string' ? parseSchemaInput(prepared) : prepared),
    status: 'pending',
    createdAt: Date.now(),
    startTime: 0,
    ...(rerunOf === undefined ? {} : { rerunOf }),
  };
}

export async function connectQueueService(options: QueueServiceOptions): Promise<(runtime: Runtime) => QueueTaskService> {
  await probeRedis(options.url);
  return (runtime) => createQueueTaskService(runtime, options);
}

export function createQueueTaskService(runtime: Runtime, options: QueueServiceOptions): QueueTaskService {
  const { store, metrics } = options;
  const cancelTTL = options.cancelTTLSeconds ?? 86_400;
  const claimGraceMs = options.claimGraceMs ?? DEFAULT_CLAIM_GRACE_MS;
  const commands: Redis = connectRedis(options.url, { enableAutoPipelining: true });
  const blocking: Redis = connectRedis(options.url);
  const queue = new Queue<TaskJob>(QUEUE_NAME, { connection: commands, prefix: KEY_PREFIX });
  const admission = new TaskAdmission(store, queue);
  const reader = new TaskEventReader(commands, blocking);
  const stats = queueStats(queue);
  if (metrics) metrics.watchQueue(stats);
  // Info and validation are the same as in local mode: reuse them.
  const local = createTaskService(runtime);
  let draining = false;
  let health = { running: 0, queued: 0, refreshedAt: 0 };

  async function record(taskID: string): Promise<TaskRecord> {
    const found = await store.getTask(taskID);
    if (!found) throw taskNotFound(taskID);
    return found;
  }

  async function liveReport(found: TaskRecord): Promise<IReport> {
    const text = await commands.get(reportKey(found.id));
    return text ? (JSON.parse(text) as IReport) : pendingReport(found);
  }

  /** Hands a waiting task to a worker (see `handOffWaitingTask`): one signal or cancel wins. */
  async function continueWaiting(found: TaskRecord, handoff: WaitHandoff): Promise<void> {
    if (!(await handOffWaitingTask(queue, commands, store, found, handoff, claimGraceMs))) {
      throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${found.id}" is no longer waiting (another signal, a timeout or a cancel came first)`);
    }
  }

  async function requestCancel(taskID: string, reason: string): Promise<void> {
    const message: CancelMessage = { taskID, reason };
    await commands.multi().set(cancelKey(taskID), reason, 'EX', cancelTTL).publish(CANCEL_CHANNEL, JSON.stringify(message)).exec();
  }

  function refreshHealth(): void {
    if (Date.now() - health.refreshedAt < HEALTH_REFRESH_MS) return;
    health.refreshedAt = Date.now();
    stats.jobs().then(
      (jobs) => (health = { running: jobs.active, queued: jobs.waiting + jobs.delayed, refreshedAt: health.refreshedAt }),
      () => undefined,
    );
  }

  return {
    runtime,
    get draining() {
      return draining;
    },
    info: () => local.info(),
    health(): HealthStatus {
      refreshHealth();
      // Counts of the whole queue (what the fleet runs and what waits), at most a second old.
      return { status: draining ? 'draining' : 'ok', running: health.running, queued: health.queued, inMemory: 0 };
    },
    async run(request) {
      if (draining) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'server: shutting down, not accepting new tasks');
      // Literal keys go into the shared secret store (durable first); the queue and the store see references only.
      const prepared = runtime.prepareSchema(request.schema); // not JSON: refused here (400), as in local mode
      await runtime.secrets.flush();
      const accepted = acceptedRecord(prepared, parseInputsInput(request.inputs));
      await admission.admit(accepted);
      return { taskID: accepted.id };
    },
    validate: (request) => local.validate(request),
    async signal(request) {
      if (draining) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'server: shutting down, not accepting new tasks');
      const found = await record(request.taskID);
      if (found.status !== 'waiting') throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${found.id}" is ${found.status}, not waiting for a signal`);
      const report = await store.getReport(found.id);
      const nodes = (parseSchemaInput(found.schema) as { nodes?: Array<{ id?: unknown; data?: { outputs?: IJsonSchema } }> }).nodes ?? [];
      const node = nodes.find((candidate) => candidate.id === request.nodeID);
      const waiting = report ? waitingInReport(report).map((wait) => wait.nodeID) : [];
      checkSignal(found.id, request.nodeID, node && { outputs: node.data?.outputs }, waiting, request.data);
      await continueWaiting(found, { signal: { nodeID: request.nodeID, data: request.data } });
      return { taskID: found.id, status: 'processing' as const };
    },
    // Runs here, on the API server's runtime (one node, in-process; nothing is queued).
    runNode: (request) => local.runNode(request),
    async rerun(request) {
      if (draining) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'server: shutting down, not accepting new tasks');
      const found = await record(request.taskID);
      if (!ENDED.has(found.status)) {
        throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${found.id}" is still ${found.status}; cancel it or wait for it to end before re-running it`);
      }
      // Checked here, before anything is queued; a worker builds the re-run from the earlier report in the store.
      const prepared = runtime.prepareSchema(request.schema ?? found.schema);
      const inputs = request.inputs === undefined ? found.inputs : parseInputsInput(request.inputs);
      runtime.checkRerun(found.id, prepared, inputs, request.fromNodeID);
      await runtime.secrets.flush();
      const accepted = acceptedRecord(prepared, inputs, found.id);
      await admission.admit(accepted, { rerun: { of: found.id, fromNodeID: request.fromNodeID, inputsChanged: request.inputs !== undefined } });
      return { taskID: accepted.id };
    },
    async resume(request) {
      if (draining) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'server: shutting down, not accepting new tasks');
      const found = await record(request.taskID);
      if (found.status === 'succeeded') throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${found.id}" succeeded; only a failed or cancelled task can be resumed`);
      if (!ENDED.has(found.status)) {
        throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${found.id}" is still ${found.status}; cancel it or wait for it to end before resuming`);
      }
      const inputs = request.inputs === undefined ? undefined : parseInputsInput(request.inputs);
      const validation = await local.validate({ schema: found.schema, inputs: inputs ?? found.inputs });
      if (!validation.valid) throw new FlowgramError(ErrorCodes.SCHEMA_INVALID, `task "${found.id}" cannot continue: ${(validation.errors ?? []).join('; ')}`, { details: validation.errors });
      // Pending again at once, for every server; the worker continues it from the report the store keeps.
      await store.write({ tasks: [], updates: [{ id: found.id, status: 'pending', startTime: found.startTime }], events: [], reports: [] });
      await commands.del(cancelKey(found.id), eventsKey(found.id), reportKey(found.id));
      const job: TaskJob = { taskID: found.id, schema: found.schema, inputs: inputs ?? found.inputs, resume: inputs === undefined ? {} : { inputs } };
      // One job per ended run: resumes of it sent at once (a double click, two servers) run it once.
      await queue.add('run', job, { jobId: `${found.id}:resume:${found.endTime ?? found.startTime}`, removeOnComplete: true, removeOnFail: 1_000 });
      return { taskID: found.id };
    },
    async report(taskID) {
      const found = await record(taskID);
      // A waiting task's report is in the store (its checkpoint); a running one's in Redis.
      if (found.status === 'waiting') return (await store.getReport(taskID)) ?? liveReport(found);
      if (!ENDED.has(found.status)) return liveReport(found);
      const report = await store.getReport(taskID);
      if (!report) throw taskNotFound(taskID);
      return report;
    },
    async schema(taskID) {
      return parseSchemaInput((await record(taskID)).schema);
    },
    async result(taskID, waitMs = 0) {
      let found = await record(taskID);
      if (!ENDED.has(found.status) && waitMs > 0) {
        const view = await reader.open(taskID, () => pendingReport(found));
        // It may have ended between reading the store and opening the stream.
        if (!view.ended) await view.waitForEnd(waitMs);
        view.close();
        // workflow_finished is published once the outcome is in the store: it is the outcome.
        const finished = view.events().find((event) => event.type === 'workflow_finished');
        if (finished?.type === 'workflow_finished') {
          if (finished.status !== 'succeeded') throw noResult(taskID, finished.status, finished.error);
          return finished.outputs;
        }
        found = await record(taskID);
      }
      if (!ENDED.has(found.status)) {
        throw new FlowgramError(ErrorCodes.TASK_NOT_FINISHED, `taskID: task "${taskID}" has not finished (status ${found.status})`);
      }
      if (found.status !== 'succeeded') throw noResult(taskID, found.status, found.error);
      return found.outputs ?? {};
    },
    async cancel(taskID, reason) {
      const found = await record(taskID);
      // Already ended: it stays as it ended, and the answer is true, as upstream's (workflow.test.ts: "returns true for a retained completed task").
      if (ENDED.has(found.status)) return { success: true };
      if (found.status === 'waiting') {
        // No worker holds a waiting task: one takes it back from the store to cancel it.
        await continueWaiting(found, { cancelWaiting: reason ?? 'cancelled by user' });
        return { success: true };
      }
      await requestCancel(taskID, reason ?? 'cancelled by user');
      return { success: true };
    },
    async delete(taskID) {
      const found = await store.getTask(taskID);
      if (found && !ENDED.has(found.status)) await requestCancel(taskID, 'task deleted');
      await queue.remove(taskID).catch(() => 0); // still waiting: it never runs
      const removed = await store.deleteTask(taskID);
      await commands.del(eventsKey(taskID), reportKey(taskID));
      if (!removed) throw taskNotFound(taskID);
      return { success: true };
    },
    async list(query) {
      const range = { since: query.since, until: query.until, q: query.q };
      const [tasks, counts] = await Promise.all([store.listTasks({ ...query, limit: query.limit ?? 100, offset: query.offset ?? 0 }), store.countTasks(range)]);
      return listing(tasks, counts, query.status);
    },
    async liveTask(taskID) {
      const found = await store.getTask(taskID);
      if (!found || ENDED.has(found.status)) return undefined; // the stream route answers from the report
      const report = await liveReport(found);
      return reader.open(taskID, () => report);
    },
    async drain() {
      // Tasks run on the workers: only the acceptances in flight need to finish.
      draining = true;
      await admission.idle();
    },
    async close() {
      draining = true;
      await admission.idle();
      await reader.close();
      await queue.close();
      await store.close();
      await Promise.all([commands, blocking].map((connection) => connection.quit().catch(() => undefined)));
    },
  };
}
