/**
 * flowgram-runtime: run flowgram.ai workflows as a library, a server, or from the command line.
 * This file is the only public entry; everything exported here is supported API.
 */
import type { ValidationReport } from './schema/check-schema.js';
import type { NodeExecutor } from './engine/types.js';
import type { Task } from './engine/task.js';
import { createRuntime, type Runtime, type SchemaInput, type StartOptions } from './runtime.js';
import type { WorkflowInputs, WorkflowOutputs } from './schema/types.js';

export { createRuntime } from './runtime.js';
export { createServer, flowgramPlugin } from './server/index.js';
export type { ServerOptions, ListenOptions, FlowgramServer, FlowgramPluginOptions, CorsOrigins, AllowedHosts, FlowgramRouter } from './server/index.js';
export type {
  Runtime,
  RuntimeOptions,
  RetentionOptions,
  ConcurrencyOptions,
  StartOptions,
  SchemaInput,
  ListTasksFilter,
  TaskResult,
  ResumeOptions,
  TaskHistory,
  ContinuedTask,
} from './runtime.js';
export { Task, WorkflowRunError } from './engine/task.js';
export type { WaitOptions, TaskSummary } from './engine/task.js';
export type { WorkflowError } from './engine/engine.js';
export { NODE_POLICY_JSON_SCHEMA } from './engine/node-policy.js';
export type { NodePolicy, RetryPolicy, OnErrorMode } from './engine/node-policy.js';
export type {
  BlockControl,
  BlockRun,
  IterationCheckpoint,
  CodeLimits,
  ExecutionContext,
  ExecutionResult,
  HttpLimits,
  LlmLimits,
  MessageLevel,
  NetworkPolicy,
  NodeExecutor,
  NodeLogger,
  ResolvedValue,
  RuntimeLimits,
  TaskEvent,
  TaskEventListener,
  ValueResolver,
  WorkflowStatusName,
} from './engine/types.js';
export type { DocumentNode } from './schema/document.js';
export type { IFlowValue, IJsonSchema, VariableType, WorkflowInputs, WorkflowOutputs, WorkflowSchema } from './schema/types.js';
export { createSqliteStore } from './store/sqlite.js';
export type { SqliteStoreOptions } from './store/sqlite.js';
export { createPostgresStore } from './store/postgres.js';
export type { PostgresStoreOptions } from './store/postgres.js';
export { createMemoryStore } from './store/memory.js';
export type { MemoryStoreOptions } from './store/memory.js';
export type { RecoveryOptions } from './store/journal.js';
export type { MaybePromise, StoreBatch, StoreListFilter, StoreRetention, StoredTaskError, TaskRecord, TaskStore, TaskUpdate } from './store/types.js';
export type { SealedSecret, SecretTable } from './store/types.js';
export { SecretStore, openSecretStore } from './secrets/store.js';
export type { SecretInfo, SecretSource, SecretStoreOptions } from './secrets/store.js';
export { createCodeExecutor } from './nodes/code.js';
export type { CodeExecutor, CodeExecutorOptions, ScriptRunnerFactory } from './nodes/code.js';
export { createQuickJSRunner } from './sandbox/quickjs-runner.js';
export type { QuickJSRunnerOptions } from './sandbox/quickjs-runner.js';
export { createPythonRunner, DEFAULT_PYTHON_MODULES } from './sandbox/python/index.js';
export type { PythonRunner, PythonRunnerOptions, PythonRunnerStats } from './sandbox/python/index.js';
export type { ScriptLog, ScriptRequest, ScriptResult, ScriptRunner } from './sandbox/types.js';
export { ErrorCodes, FlowgramError, isFlowgramError } from './errors.js';
export { DEFAULT_LIMITS } from './limits.js';
export type { TaskLimits, TaskLimitName } from './limits.js';
export type { ErrorCode } from './errors.js';
export type { IReport, ValidationResult } from '@flowgram.ai/runtime-interface';
export type { ValidationReport } from './schema/check-schema.js';

let defaultRuntime: Runtime | undefined;

/** The runtime behind the module-level `run`, `start`, `validate` and `registerExecutor`. */
export function getDefaultRuntime(): Runtime {
  defaultRuntime ??= createRuntime();
  return defaultRuntime;
}

/** Runs a workflow on the default runtime and resolves with its outputs. */
export function run(schema: SchemaInput, inputs?: WorkflowInputs | string, options?: StartOptions): Promise<WorkflowOutputs> {
  return getDefaultRuntime().run(schema, inputs, options);
}

/** Starts a workflow on the default runtime and returns its task. */
export function start(schema: SchemaInput, inputs?: WorkflowInputs | string, options?: StartOptions): Task {
  return getDefaultRuntime().start(schema, inputs, options);
}

/** Validates a workflow (and inputs) against the default runtime's node types. */
export function validate(schema: SchemaInput, inputs?: WorkflowInputs | string): ValidationReport {
  return getDefaultRuntime().validate(schema, inputs);
}

/** Adds (or replaces) a node type on the default runtime. */
export function registerExecutor(executor: NodeExecutor): void {
  getDefaultRuntime().registerExecutor(executor);
}
