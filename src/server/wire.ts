/**
 * The zod schemas of every request and response the server speaks. Routes, the tRPC router and the
 * OpenAPI document are all built from these, so the three cannot drift apart. The upstream routes'
 * response schemas are the ones `@flowgram.ai/runtime-interface` publishes.
 */
import { FlowGramAPIName, FlowGramAPIs } from '@flowgram.ai/runtime-interface';
import { z, type ZodIssue, type ZodTypeAny } from 'zod';
import { badRequest } from './errors.js';

/** Task statuses: the report's `workflowStatus.status` values, and `waiting` (for a signal; `processing` in the report). */
export const TaskStatusSchema = z.enum(['pending', 'processing', 'waiting', 'succeeded', 'failed', 'canceled']);

const TaskIDSchema = z.string({ required_error: 'is required' }).min(1, 'must not be empty');

/** Upstream sends the schema as a JSON string; an object is accepted too. */
const WorkflowSchemaField = z.union([z.string(), z.record(z.string(), z.unknown())], {
  errorMap: () => ({ message: 'must be a JSON string or an object' }),
});

const InputsField = z.record(z.string(), z.unknown()).optional();

export const TaskRunRequest = z.object({ schema: WorkflowSchemaField, inputs: InputsField });
export type TaskRunRequest = z.infer<typeof TaskRunRequest>;

export const TaskValidateRequest = TaskRunRequest;

export const TaskIDQuery = z.object({ taskID: TaskIDSchema });

/** Longest a client may ask `task/result` to wait for the end of a task. */
export const MAX_RESULT_WAIT_MS = 60_000;

export const TaskResultQuery = z.object({
  taskID: TaskIDSchema,
  /** Wait up to this many ms for the task to end instead of answering 409 at once. */
  wait: z.coerce.number().int().min(0).max(MAX_RESULT_WAIT_MS).optional(),
});

/** Resume a failed or cancelled task under its ID; `inputs` replace the task's (its start node runs again). */
export const TaskResumeRequest = z.object({ taskID: TaskIDSchema, inputs: InputsField });
export type TaskResumeRequest = z.infer<typeof TaskResumeRequest>;
export const TaskResumeResponse = z.object({ taskID: z.string() });

/** Re-run an ended task from a node as a new task; `schema` (changed) and `inputs` replace the task's. */
export const TaskRerunRequest = z.object({
  taskID: TaskIDSchema,
  fromNodeID: z.string({ required_error: 'is required' }).min(1, 'must not be empty'),
  inputs: InputsField,
  schema: WorkflowSchemaField.optional(),
});
export type TaskRerunRequest = z.infer<typeof TaskRerunRequest>;

/** Run one node: with `inputs` (a loop also takes `loopFor`), or as it ran in the ended task `taskID`. */
export const TaskRunNodeRequest = z.object({
  schema: WorkflowSchemaField,
  nodeID: z.string({ required_error: 'is required' }).min(1, 'must not be empty'),
  inputs: InputsField,
  taskID: TaskIDSchema.optional(),
});
export type TaskRunNodeRequest = z.infer<typeof TaskRunNodeRequest>;
export const TaskRunNodeResponse = z.object({
  taskID: z.string(),
  status: TaskStatusSchema,
  outputs: z.record(z.string(), z.unknown()).optional(),
  error: z.object({ code: z.string(), message: z.string(), nodeID: z.string().optional() }).optional(),
  report: FlowGramAPIs[FlowGramAPIName.TaskReport].schema.output,
});

/** Answer a `wait` node of a waiting task: `data` become its outputs (checked against its declared outputs). */
export const TaskSignalRequest = z.object({
  taskID: TaskIDSchema,
  nodeID: z.string({ required_error: 'is required' }).min(1, 'must not be empty'),
  data: z.record(z.string(), z.unknown(), { required_error: 'is required', invalid_type_error: 'must be an object' }),
});
export type TaskSignalRequest = z.infer<typeof TaskSignalRequest>;
export const TaskSignalResponse = z.object({ taskID: z.string(), status: TaskStatusSchema });

export const TaskCancelRequest = z.object({ taskID: TaskIDSchema, reason: z.string().max(1_000).optional() });

export const TaskListQuery = z.object({
  status: TaskStatusSchema.optional(),
  /** Only tasks started at or after this time (ms since epoch). */
  since: z.coerce.number().int().min(0).optional(),
  /** Only tasks started before this time (ms since epoch). */
  until: z.coerce.number().int().min(0).optional(),
  /** Only tasks whose ID or workflow title contains this text (case-insensitive). */
  q: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).optional(),
  offset: z.coerce.number().int().min(0).optional(),
});
export type TaskListQuery = z.infer<typeof TaskListQuery>;

export const TaskSummarySchema = z.object({
  id: z.string(),
  status: TaskStatusSchema,
  /** The workflow's `title` (or `name`), else its top-level node titles joined by ' → '. */
  title: z.string(),
  startTime: z.number(),
  endTime: z.number().optional(),
  timeCost: z.number(),
  error: z.string().optional(),
  /** The task whose outputs this one reused (a re-run). */
  rerunOf: z.string().optional(),
});

export const TaskCountsSchema = z.object({
  pending: z.number(),
  processing: z.number(),
  waiting: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  canceled: z.number(),
});

export const TaskListResponse = z.object({
  tasks: z.array(TaskSummarySchema),
  /** How many tasks match the whole query (all pages). */
  total: z.number(),
  /** How many tasks match the time range and search, per status (the status filter aside). */
  counts: TaskCountsSchema,
});
export type TaskListResponse = z.infer<typeof TaskListResponse>;
export const SuccessResponse = z.object({ success: z.boolean() });
export const ErrorResponse = z.object({ code: z.string(), message: z.string(), details: z.array(z.string()).optional() });
export const HealthResponse = z.object({
  status: z.enum(['ok', 'draining', 'unavailable']),
  reason: z.string().optional(),
  running: z.number(),
  queued: z.number(),
  inMemory: z.number(),
});

/** Largest secret value (bytes of text) `PUT /api/secrets/NAME` accepts. */
export const MAX_SECRET_VALUE_LENGTH = 64 * 1024;

export const SecretNameParams = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'use letters, digits and _ (not starting with a digit), at most 128'),
});
export const SecretPutRequest = z.object({
  value: z.string({ required_error: 'is required' }).min(1, 'must not be empty').max(MAX_SECRET_VALUE_LENGTH, `must be at most ${MAX_SECRET_VALUE_LENGTH} characters`),
});
/** What is shown of a secret: never its value. */
export const SecretInfoSchema = z.object({
  name: z.string(),
  source: z.enum(['options', 'env', 'file', 'store']),
  createdAt: z.number().optional(),
  updatedAt: z.number().optional(),
});
export const SecretListResponse = z.object({ secrets: z.array(SecretInfoSchema) });

/** One server-sent event: the `TaskEvent` as JSON in `data`, its type in `event`. */
export const TaskStreamEvent = z.object({ type: z.string(), taskID: z.string(), time: z.number() }).passthrough();

/** The upstream response schemas, which the editor's client and our tests parse with. */
export const UpstreamOutputs = {
  info: FlowGramAPIs[FlowGramAPIName.ServerInfo].schema.output,
  run: FlowGramAPIs[FlowGramAPIName.TaskRun].schema.output,
  report: FlowGramAPIs[FlowGramAPIName.TaskReport].schema.output,
  result: FlowGramAPIs[FlowGramAPIName.TaskResult].schema.output,
  cancel: FlowGramAPIs[FlowGramAPIName.TaskCancel].schema.output,
  validate: FlowGramAPIs[FlowGramAPIName.TaskValidate].schema.output,
} as const;

/** Upstream's validate answer plus `warnings` (what works but looks wrong; never changes `valid`). */
export const TaskValidateResponse = z.object({
  valid: z.boolean(),
  errors: z.array(z.string()).optional(),
  warnings: z.array(z.string()).optional(),
});

function describeIssue(issue: ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return issue.received === 'undefined' ? 'is required' : `expected ${issue.expected}, got ${issue.received}`;
  }
  return issue.message;
}

/** `a.b: problem; c: problem` — every field a request got wrong, each named by its path. */
export function formatIssues(issues: readonly ZodIssue[], root: string): string {
  return issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : root}: ${describeIssue(issue)}`)
    .join('; ');
}

/** Parses a request part, or throws FLOWGRAM_ERR_BAD_REQUEST naming each bad field. */
export function parseRequest<T extends ZodTypeAny>(schema: T, value: unknown, root = 'body'): z.output<T> {
  if (value === undefined || value === null) {
    if (root === 'body') throw badRequest('body: must be a JSON object');
    value = {};
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(formatIssues(parsed.error.issues, root));
  return parsed.data as z.output<T>;
}
