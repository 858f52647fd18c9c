/**
 * What every server route does, once: REST routes and tRPC procedures both call these functions, which
 * speak the wire types and throw FlowgramErrors. It only uses the Runtime/Task API, never the engine.
 * It also keeps the set of tasks this server started, so a shutdown can wait for them and cancel the rest.
 */
import type { IReport } from '@flowgram.ai/runtime-interface';
import type { ValidationReport } from '../schema/check-schema.js';
import { ErrorCodes, FlowgramError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { Task, TaskSummary } from '../engine/task.js';
import type { TaskEvent, TaskEventListener } from '../engine/types.js';
import type { WorkflowOutputs } from '../schema/types.js';
import type { TaskCounts } from '../store/types.js';
import { noResult, taskNotFound } from './errors.js';
import { packageVersion } from './version.js';
import type { NodeRunResult } from '../runtime.js';
import type { TaskListQuery, TaskListResponse, TaskRerunRequest, TaskResumeRequest, TaskRunNodeRequest, TaskRunRequest, TaskSignalRequest } from './wire.js';
import type { WorkflowStatusName } from '../engine/types.js';

export interface ServerInfo {
  name: string;
  title: string;
  description: string;
  runtime: string;
  version: string;
  time: string;
}

export interface HealthStatus {
  /** `unavailable`: the store cannot write, so new tasks are refused (503) rather than lost. */
  status: 'ok' | 'draining' | 'unavailable';
  /** Why the server is unavailable. */
  reason?: string;
  running: number;
  queued: number;
  inMemory: number;
}

/** What the event stream needs of a task: its events so far, then live ones. */
export interface LiveTask {
  readonly ended: boolean;
  events(): readonly TaskEvent[];
  /** Live events only (`replay: false`: the stream replays `events()` itself). */
  subscribe(listener: TaskEventListener, options: { replay: false }): () => void;
  report(): IReport;
  /** Releases what following the task holds (e.g. a remote stream); called when the SSE response ends. */
  close?(): void;
}

/**
 * The operations behind every route. `createTaskService` runs tasks on the server's runtime; another
 * implementation (e.g. a queue for a fleet of workers) can be given to `createServer({ taskService })`.
 */
export interface TaskService {
  readonly runtime: Runtime;
  /** True once a shutdown began: new tasks are refused, reads still work. */
  readonly draining: boolean;
  info(): ServerInfo;
  health(): HealthStatus;
  run(request: TaskRunRequest): { taskID: string } | Promise<{ taskID: string }>;
  validate(request: TaskRunRequest): Promise<ValidationReport>;
  /** Resumes a failed or cancelled task under the same ID from its checkpoints (404 unknown, 409 running or succeeded). */
  resume(request: TaskResumeRequest): Promise<{ taskID: string }>;
  /** Starts a new task reusing an ended task's outputs for every node not downstream of `fromNodeID`; answers its ID. */
  rerun(request: TaskRerunRequest): Promise<{ taskID: string }>;
  /** Answers a `wait` node of a waiting task with data (400 not fitting its outputs, 409 not waiting, 404 unknown); answers once it runs on. */
  signal(request: TaskSignalRequest): Promise<{ taskID: string; status: WorkflowStatusName }>;
  /** Runs one node of a workflow and answers its outcome and a report of just it. */
  runNode(request: TaskRunNodeRequest): Promise<NodeRunResult>;
  report(taskID: string): Promise<IReport>;
  /** The workflow schema a task ran, as an object. */
  schema(taskID: string): Promise<unknown>;
  /** The outputs once the task ended; with `waitMs`, waits that long for the end before refusing. */
  result(taskID: string, waitMs?: number): Promise<WorkflowOutputs>;
  cancel(taskID: string, reason?: string): Promise<{ success: boolean }>;
  delete(taskID: string): Promise<{ success: boolean }>;
  list(query: TaskListQuery): Promise<TaskListResponse>;
  /** The task while it can still emit events (undefined once only its report is left), for streaming. */
  liveTask(taskID: string): LiveTask | undefined | Promise<LiveTask | undefined>;
  /**
   * Refuses new tasks, lets the running ones finish for up to `graceMs`, then cancels the rest with a
   * reason that names the shutdown. Resolves when every task this server started has ended.
   */
  drain(graceMs: number): Promise<void>;
  /** Releases the service's own resources (connections); called once the server has closed. */
  close?(): Promise<void>;
}

const UNFINISHED = new Set(['pending', 'processing']);
const ENDED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'canceled']);

/** A page of tasks with the totals of the whole query. */
export function listing(tasks: TaskSummary[], counts: TaskCounts, status: TaskListQuery['status']): TaskListResponse {
  const total = status ? counts[status] : Object.values(counts).reduce((sum, count) => sum + count, 0);
  return { tasks, total, counts };
}

export function createTaskService(runtime: Runtime): TaskService {
  const inFlight = new Set<Task>();
  let draining = false;

  /** A task runs here until it ends or waits for a signal (a waiting task is durable: a shutdown leaves it waiting). */
  function track(task: Task): void {
    inFlight.add(task);
    void task.idle().then(() => inFlight.delete(task));
  }

  async function waitForEnd(task: Task, waitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([task.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  return {
    runtime,
    get draining() {
      return draining;
    },
    info: () => ({
      name: 'flowgram-runtime',
      title: 'FlowGram Runtime',
      description: 'A fast, sandboxed, durable runtime for flowgram.ai workflows',
      runtime: 'Node.js',
      version: packageVersion,
      time: new Date().toISOString(),
    }),
    health() {
      const stats = runtime.stats();
      if (draining) return { status: 'draining', ...stats };
      const failure = runtime.storeFailure();
      return failure ? { status: 'unavailable', reason: failure.message, ...stats } : { status: 'ok', ...stats };
    },
    async run(request) {
      if (draining) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'server: shutting down, not accepting new tasks');
      const failure = runtime.storeFailure();
      if (failure) throw failure;
      const task = runtime.start(request.schema, request.inputs ?? {});
      if (!task.ended) track(task);
      // With a store, the task is persisted before its ID is handed out: an accepted task is never lost.
      try {
        await runtime.flush();
      } catch (error) {
        // Never a task ID for a task the store does not have: it would be lost.
        task.cancel('the store could not record this task');
        throw error;
      }
      return { taskID: task.id };
    },
    async validate(request) {
      // Secret names another process set or removed since (the CLI, another server): validation checks references against them.
      await runtime.secrets.refresh().catch(() => undefined);
      return runtime.validate(request.schema, request.inputs ?? {});
    },
    async resume(request) {
      if (draining) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'server: shutting down, not accepting new tasks');
      const task = await runtime.resume(request.taskID, request.inputs === undefined ? {} : { inputs: request.inputs });
      if (!task.ended) track(task);
      await runtime.flush();
      return { taskID: task.id };
    },
    async signal(request) {
      if (draining) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'server: shutting down, not accepting new tasks');
      const task = await runtime.signal(request.taskID, request.nodeID, request.data);
      if (!task.ended) track(task);
      // The answer is durable before it is acknowledged: a crash after this continues with it.
      await runtime.flush();
      return { taskID: task.id, status: task.status };
    },
    runNode(request) {
      if (draining) return Promise.reject(new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'server: shutting down, not accepting new tasks'));
      if (request.taskID !== undefined && request.inputs !== undefined) return Promise.reject(new FlowgramError(ErrorCodes.BAD_REQUEST, 'body: give inputs or taskID, not both'));
      return runtime.runNode(request.schema, request.nodeID, request.taskID === undefined ? { inputs: request.inputs ?? {} } : { taskID: request.taskID });
    },
    async rerun(request) {
      if (draining) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'server: shutting down, not accepting new tasks');
      const { taskID, ...options } = request;
      const task = await runtime.rerun(taskID, options);
      if (!task.ended) track(task);
      await runtime.flush();
      return { taskID: task.id };
    },
    async report(taskID) {
      const report = await runtime.getReport(taskID);
      if (!report) throw taskNotFound(taskID);
      return report;
    },
    async schema(taskID) {
      const schema = await runtime.getSchema(taskID);
      if (schema === undefined) throw taskNotFound(taskID);
      return schema;
    },
    async result(taskID, waitMs = 0) {
      const live = runtime.getTask(taskID);
      if (live && !live.ended && waitMs > 0) await waitForEnd(live, waitMs);
      const result = await runtime.getResult(taskID);
      if (!result) throw taskNotFound(taskID);
      if (UNFINISHED.has(result.status)) {
        throw new FlowgramError(ErrorCodes.TASK_NOT_FINISHED, `taskID: task "${taskID}" has not finished (status ${result.status})`);
      }
      if (result.status !== 'succeeded') throw noResult(taskID, result.status, result.error);
      return result.outputs;
    },
    async cancel(taskID, reason) {
      const cancelled = await runtime.cancelTask(taskID, reason ?? 'cancelled by user');
      if (cancelled === undefined) throw taskNotFound(taskID);
      if (cancelled) return { success: true };
      // A task that had already ended stays as it ended, and the answer is true, as upstream's (its newer
      // workflow.test.ts: "returns true for a retained completed task"). False: it still runs (e.g. elsewhere).
      const ended = await runtime.getResult(taskID);
      return { success: ended !== undefined && ENDED.has(ended.status) };
    },
    async delete(taskID) {
      if (!(await runtime.deleteTask(taskID))) throw taskNotFound(taskID);
      return { success: true };
    },
    async list(query) {
      const range = { since: query.since, until: query.until, q: query.q };
      const [tasks, counts] = await Promise.all([runtime.listTasks(query), runtime.countTasks(range)]);
      return listing(tasks, counts, query.status);
    },
    liveTask: (taskID) => runtime.getTask(taskID),
    async drain(graceMs) {
      draining = true;
      const pending = [...inFlight];
      if (pending.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const allDone = Promise.all(pending.map((task) => task.idle()));
      const graceOver = new Promise<'grace-over'>((resolve) => (timer = setTimeout(() => resolve('grace-over'), graceMs)));
      const outcome = await Promise.race([allDone, graceOver]);
      clearTimeout(timer);
      if (outcome === 'grace-over') {
        for (const task of inFlight) task.cancel(`server shutting down: task did not finish within the ${graceMs} ms grace period`);
        await Promise.all([...inFlight].map((task) => task.done));
      }
    },
  };
}
