/**
 * The tRPC router at /trpc: the same operations as the REST routes (through the same TaskService), as
 * `info`, `task.run`, `task.report`, … and under upstream's path-style names (`/task/run`, …).
 * Queries answer GET `?input=`, mutations POST; batching is on. Errors keep their FlowgramError code
 * in `error.data.flowgramCode`.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { ZodError } from 'zod';
import { FlowgramError } from '../errors.js';
import { httpStatusOf } from './errors.js';
import type { TaskService } from './task-service.js';
import { TaskCancelRequest, TaskIDQuery, TaskListQuery, TaskResultQuery, TaskRerunRequest, TaskResumeRequest, TaskRunNodeRequest, TaskRunRequest, TaskSignalRequest, TaskValidateRequest, formatIssues } from './wire.js';

export interface TrpcContext {
  service: TaskService;
}

const TRPC_CODE_BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

const t = initTRPC.context<TrpcContext>().create({
  // Stack traces stay in the server log, never in answers.
  isDev: false,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    if (cause instanceof ZodError) {
      return { ...shape, message: formatIssues(cause.issues, 'input'), data: { ...shape.data, flowgramCode: 'FLOWGRAM_ERR_BAD_REQUEST' } };
    }
    const flowgramCode = cause instanceof FlowgramError ? cause.code : undefined;
    return { ...shape, data: { ...shape.data, flowgramCode } };
  },
});

/** FlowgramErrors become TRPCErrors with the matching HTTP status, keeping the original as cause. */
const withFlowgramErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof FlowgramError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: TRPC_CODE_BY_STATUS[httpStatusOf(cause)] ?? 'INTERNAL_SERVER_ERROR', message: cause.message, cause });
  }
  return result;
});

const procedure = t.procedure.use(withFlowgramErrors);

const info = procedure.query(({ ctx }) => ctx.service.info());
const run = procedure.input(TaskRunRequest).mutation(({ ctx, input }) => ctx.service.run(input));
const report = procedure.input(TaskIDQuery).query(({ ctx, input }) => ctx.service.report(input.taskID));
const result = procedure.input(TaskResultQuery).query(({ ctx, input }) => ctx.service.result(input.taskID, input.wait));
const cancel = procedure.input(TaskCancelRequest).mutation(({ ctx, input }) => ctx.service.cancel(input.taskID, input.reason));
const validate = procedure.input(TaskValidateRequest).mutation(({ ctx, input }) => ctx.service.validate(input));
const list = procedure.input(TaskListQuery.optional()).query(({ ctx, input }) => ctx.service.list(input ?? {}));
const resume = procedure.input(TaskResumeRequest).mutation(({ ctx, input }) => ctx.service.resume(input));
const rerun = procedure.input(TaskRerunRequest).mutation(({ ctx, input }) => ctx.service.rerun(input));
const signal = procedure.input(TaskSignalRequest).mutation(({ ctx, input }) => ctx.service.signal(input));
const runNode = procedure.input(TaskRunNodeRequest).mutation(({ ctx, input }) => ctx.service.runNode(input));
const remove = procedure.input(TaskIDQuery).mutation(({ ctx, input }) => ctx.service.delete(input.taskID));

export const flowgramRouter = t.router({
  info,
  task: t.router({ run, report, result, cancel, validate, list, resume, rerun, runNode, signal, delete: remove }),
  // Upstream's server names its procedures by REST path; clients written for it keep working.
  '/info': info,
  '/task/run': run,
  '/task/report': report,
  '/task/result': result,
  '/task/cancel': cancel,
  '/task/validate': validate,
});

/** The router's type, for `createTRPCClient<FlowgramRouter>()`. */
export type FlowgramRouter = typeof flowgramRouter;
