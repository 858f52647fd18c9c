/**
 * Every REST route, as one table: the plugin registers them and the OpenAPI document describes them,
 * both from the same zod schemas. The upstream task routes answer under /api (the editor's base path)
 * and without it (as the Python port serves them).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeAny } from 'zod';
import { z } from 'zod';
import { secretRoutes } from './secret-routes.js';
import { streamTask } from './sse.js';
import type { TaskService } from './task-service.js';
import {
  HealthResponse,
  SuccessResponse,
  TaskCancelRequest,
  TaskIDQuery,
  TaskListQuery,
  TaskListResponse,
  TaskResultQuery,
  TaskRerunRequest,
  TaskRunNodeRequest,
  TaskRunNodeResponse,
  TaskResumeRequest,
  TaskResumeResponse,
  TaskRunRequest,
  TaskSignalRequest,
  TaskSignalResponse,
  TaskStreamEvent,
  TaskValidateRequest,
  TaskValidateResponse,
  UpstreamOutputs,
  parseRequest,
} from './wire.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec {
  method: HttpMethod;
  /** The first path is the documented one; the others are aliases. */
  paths: string[];
  operationId: string;
  summary: string;
  tag: 'Task' | 'Info' | 'Secrets';
  /** Path parameters (`:name` in the path). */
  params?: ZodTypeAny;
  query?: ZodTypeAny;
  body?: ZodTypeAny;
  response: ZodTypeAny;
  /** Content type of a successful answer. */
  produces?: 'application/json' | 'text/event-stream';
  /** Error statuses the route can answer with (all carry `{ code, message }`). */
  errors: number[];
  /** False for routes that answer without the bearer token. */
  protected?: boolean;
  handle(service: TaskService, request: FastifyRequest, reply: FastifyReply): unknown;
}

const both = (path: string): string[] => [`/api${path}`, path];

export const routes: RouteSpec[] = [
  {
    method: 'POST',
    paths: both('/task/run'),
    operationId: 'TaskRun',
    summary: 'Start a workflow; answers with its task ID at once',
    tag: 'Task',
    body: TaskRunRequest,
    response: UpstreamOutputs.run,
    errors: [400, 401, 413, 415, 429, 503],
    handle: (service, request) => service.run(parseRequest(TaskRunRequest, request.body)),
  },
  {
    method: 'POST',
    paths: both('/task/resume'),
    operationId: 'TaskResume',
    summary: 'Resume a failed or cancelled task from its checkpoints: finished nodes are not run again',
    tag: 'Task',
    body: TaskResumeRequest,
    response: TaskResumeResponse,
    errors: [400, 401, 404, 409, 415, 503],
    handle: (service, request) => service.resume(parseRequest(TaskResumeRequest, request.body)),
  },
  {
    method: 'POST',
    paths: both('/task/signal'),
    operationId: 'TaskSignal',
    summary: 'Answer a wait node of a waiting task: `data` (checked against its declared outputs) become its outputs and the task runs on',
    tag: 'Task',
    body: TaskSignalRequest,
    response: TaskSignalResponse,
    errors: [400, 401, 404, 409, 413, 415, 503],
    handle: (service, request) => service.signal(parseRequest(TaskSignalRequest, request.body)),
  },
  {
    method: 'POST',
    paths: both('/task/rerun'),
    operationId: 'TaskRerun',
    summary: 'Re-run an ended task from a node as a new task, reusing the outputs of every node not downstream of it',
    tag: 'Task',
    body: TaskRerunRequest,
    response: TaskResumeResponse,
    errors: [400, 401, 404, 409, 413, 415, 503],
    handle: (service, request) => service.rerun(parseRequest(TaskRerunRequest, request.body)),
  },
  {
    method: 'POST',
    paths: both('/task/run-node'),
    operationId: 'TaskRunNode',
    summary: 'Run one node (the editor\'s "test this node"): with the inputs given, or as it ran in an earlier task',
    tag: 'Task',
    body: TaskRunNodeRequest,
    response: TaskRunNodeResponse,
    errors: [400, 401, 404, 409, 413, 415, 503],
    handle: (service, request) => service.runNode(parseRequest(TaskRunNodeRequest, request.body)),
  },
  {
    method: 'GET',
    paths: both('/task/report'),
    operationId: 'TaskReport',
    summary: 'The live report of a task: status, per-node snapshots, messages',
    tag: 'Task',
    query: TaskIDQuery,
    response: UpstreamOutputs.report,
    errors: [400, 401, 404],
    handle: (service, request) => service.report(parseRequest(TaskIDQuery, request.query, 'query').taskID),
  },
  {
    method: 'GET',
    paths: both('/task/result'),
    operationId: 'TaskResult',
    summary: 'The outputs of a task that has ended (409 before; `wait` long-polls up to that many ms)',
    tag: 'Task',
    query: TaskResultQuery,
    response: UpstreamOutputs.result,
    errors: [400, 401, 404, 409],
    handle(service, request) {
      const query = parseRequest(TaskResultQuery, request.query, 'query');
      return service.result(query.taskID, query.wait);
    },
  },
  {
    method: 'PUT',
    paths: both('/task/cancel'),
    operationId: 'TaskCancel',
    summary: 'Cancel a task; `success` is true once it is no longer running (also when it had already ended, which leaves it as it ended), false while it still runs elsewhere',
    tag: 'Task',
    body: TaskCancelRequest,
    response: UpstreamOutputs.cancel,
    errors: [400, 401, 404, 415],
    handle(service, request) {
      const body = parseRequest(TaskCancelRequest, request.body);
      return service.cancel(body.taskID, body.reason);
    },
  },
  {
    method: 'POST',
    paths: both('/task/validate'),
    operationId: 'TaskValidate',
    summary: 'Check a workflow and its inputs without running it; lists every problem',
    tag: 'Task',
    body: TaskValidateRequest,
    response: TaskValidateResponse,
    errors: [400, 401, 413, 415],
    handle: (service, request) => service.validate(parseRequest(TaskValidateRequest, request.body)),
  },
  {
    method: 'GET',
    paths: both('/task/stream'),
    operationId: 'TaskStream',
    summary: 'Live progress as Server-Sent Events; late clients get the events so far first',
    tag: 'Task',
    query: TaskIDQuery,
    response: TaskStreamEvent,
    produces: 'text/event-stream',
    errors: [400, 401, 404],
    async handle(service, request, reply) {
      await streamTask(request, reply, service, parseRequest(TaskIDQuery, request.query, 'query').taskID);
      return reply;
    },
  },
  {
    method: 'GET',
    paths: both('/task/schema'),
    operationId: 'TaskSchema',
    summary: 'The workflow schema a task ran (the console draws its graph and re-runs it from this)',
    tag: 'Task',
    query: TaskIDQuery,
    response: z.record(z.string(), z.unknown()),
    errors: [400, 401, 404],
    handle: (service, request) => service.schema(parseRequest(TaskIDQuery, request.query, 'query').taskID),
  },
  {
    method: 'DELETE',
    paths: both('/task'),
    operationId: 'TaskDelete',
    summary: 'Forget a task (cancelling it first if it still runs)',
    tag: 'Task',
    query: TaskIDQuery,
    response: SuccessResponse,
    errors: [400, 401, 404],
    handle: (service, request) => service.delete(parseRequest(TaskIDQuery, request.query, 'query').taskID),
  },
  {
    method: 'GET',
    paths: both('/tasks'),
    operationId: 'TaskList',
    summary: 'Recent tasks, newest first',
    tag: 'Task',
    query: TaskListQuery,
    response: TaskListResponse,
    errors: [400, 401],
    handle: (service, request) => service.list(parseRequest(TaskListQuery, request.query, 'query')),
  },
  {
    method: 'GET',
    paths: both('/info'),
    operationId: 'ServerInfo',
    summary: 'Server name, runtime and version',
    tag: 'Info',
    response: UpstreamOutputs.info,
    errors: [],
    protected: false,
    handle: (service) => service.info(),
  },
  {
    method: 'GET',
    paths: ['/healthz'],
    operationId: 'Health',
    summary: 'Liveness and load: tasks running, queued and held in memory',
    tag: 'Info',
    response: HealthResponse,
    errors: [401, 503],
    handle(service, _request, reply) {
      const health = service.health();
      // A draining server, or one whose store cannot write, tells load balancers to stop sending work.
      if (health.status !== 'ok') reply.code(503);
      return health;
    },
  },
  ...secretRoutes,
];
