import type { IReport } from '@flowgram.ai/runtime-interface';
import { ErrorCodes, FlowgramError, type ErrorCode } from './errors.js';
import { checkpointAnswering, checkpointFromEvents, checkpointFromReport, checkpointWithout, loopForCheckpoint, rerunCheckpoint, type TaskCheckpoint, type WaitAnswer } from './engine/checkpoint.js';
import { WorkflowExecution, type WorkflowError } from './engine/engine.js';
import { TaskRecorder } from './engine/recorder.js';
import { Task, type TaskSummary } from './engine/task.js';
import type { NetworkPolicy, NodeExecutor, RuntimeLimits, TaskEvent, WorkflowStatusName } from './engine/types.js';
import { measureJson } from './json-bounds.js';
import { limitExceeded, resolveLimits, type TaskLimits } from './limits.js';
import { defaultExecutors } from './nodes/index.js';
import type { DocumentNode, WorkflowDocument } from './schema/document.js';
import { parseInputsInput, parseSchemaInput } from './schema/parse.js';
import type { WorkflowInputs, WorkflowOutputs } from './schema/types.js';
import { validateInputs } from './schema/validate-inputs.js';
import type { ValidationReport } from './schema/check-schema.js';
import { referencesUnder, unknownSecretMessages, type SecretReference } from './secrets/references.js';
import { SecretStore } from './secrets/store.js';
import { DEFAULT_LEASE_MS, TaskJournal, type RecoveryOptions } from './store/journal.js';
import { newOwnerID } from './store/owner.js';
import { RESUMED_MESSAGE, journalReport, type LeftBehind } from './store/recovery.js';
import { newTaskID } from './store/task-id.js';
import { emptyCounts, matchesCountFilter, matchesListFilter } from './store/list-filter.js';
import type { TaskCounts, TaskRecord, TaskStore } from './store/types.js';
import { WaitingTasks } from './waiting-tasks.js';
import { Admission, type ConcurrencyOptions } from './runtime/admission.js';
import { CompiledSchemas, type CompiledSchema, type SchemaInput } from './runtime/compiled-schemas.js';
import { Retention, type RetentionOptions } from './runtime/retention.js';

export type { ConcurrencyOptions } from './runtime/admission.js';
export type { SchemaInput } from './runtime/compiled-schemas.js';
export type { RetentionOptions } from './runtime/retention.js';

export interface RuntimeOptions {
  /** Executors for custom node types; one with a built-in type replaces the built-in. */
  executors?: NodeExecutor[];
  concurrency?: ConcurrencyOptions;
  limits?: RuntimeLimits;
  network?: NetworkPolicy;
  retention?: RetentionOptions;
  /**
   * Where tasks and reports outlive the process (`createSqliteStore`). The runtime owns it: it
   * settles tasks runtimes that are gone left running (see `recovery`), and `close()` closes it.
   * Default: memory only.
   */
  store?: TaskStore;
  /**
   * How runtimes sharing the store tell a dead one from a live one (see the README's Durability):
   * each writes a heartbeat every `leaseMs / 3`; the unfinished tasks of one silent for `leaseMs`
   * (default 30 s) are settled by a live one, checked at start and every `leaseMs`.
   */
  recovery?: RecoveryOptions;
  /**
   * Where `["secrets", NAME]` / `{{secrets.NAME}}` references resolve, and where literal keys typed
   * into forms are moved (`openSecretStore`). Default: `FLOWGRAM_SECRET_<NAME>` variables, and this
   * process's memory for literals.
   */
  secrets?: SecretStore;
  /**
   * Record each finished iteration of a top-level loop as a checkpoint, so that a resumed task
   * continues a loop where it stopped (finished nodes are always checkpoints). Default: with a store.
   */
  checkpoints?: boolean;
}

/**
 * What a task's earlier run left: its journal (the process died) or its final report (it failed or was
 * cancelled); or, for a new task that re-runs an ended one (`rerun`), that task's final report and the
 * node to run again from (`inputsChanged`: the start node runs again too).
 */
export type TaskHistory =
  | { events: readonly TaskEvent[] }
  | { report: IReport }
  | { rerun: { of: string; report: IReport; fromNodeID: string; inputsChanged?: boolean } };

/** The task a run continues: its ID, what it runs and with which inputs (a `TaskRecord` has these). */
export type ContinuedTask = Pick<TaskRecord, 'id' | 'schema' | 'inputs' | 'startTime' | 'createdAt' | 'rerunOf'>;

/** What `runNode` runs the node with: these inputs, or the ones it had in an earlier task. */
export type RunNodeSource = { inputs: WorkflowInputs | string } | { taskID: string };

/** One node's run (`runNode`): its outcome, outputs and a report of just it (and a loop's body). */
export interface NodeRunResult {
  taskID: string;
  status: WorkflowStatusName;
  outputs?: WorkflowOutputs;
  error?: WorkflowError;
  report: IReport;
}

export interface RerunOptions {
  /** The node to run again, with everything downstream of it; the earlier outputs of every other node are reused. */
  fromNodeID: string;
  /** Run with these inputs instead of the task's (the start node runs again with them). */
  inputs?: WorkflowInputs | string;
  /** Run this schema (e.g. a changed prompt) instead of the task's; validated before anything runs. */
  schema?: SchemaInput;
}

/** How a task continues from an earlier run's state. */
interface Continuation {
  checkpoint: TaskCheckpoint;
  /** Set for a re-run: the task whose outputs it reuses. */
  rerunOf?: string;
}

export interface ResumeOptions {
  /** Run with these inputs instead of the task's (the start node runs again with them). */
  inputs?: WorkflowInputs | string;
}

export interface StartOptions {
  /** Use this task ID instead of a generated one (e.g. one a queue assigned). */
  taskID?: string;
}

export interface ListTasksFilter {
  status?: WorkflowStatusName;
  /** Only tasks started at or after this time (ms since epoch). */
  since?: number;
  /** Only tasks started before this time (ms since epoch). */
  until?: number;
  /** Only tasks whose ID or workflow title contains this text (case-insensitive). */
  q?: string;
  /** Default 100. */
  limit?: number;
  /** Skip this many matching tasks (paging). */
  offset?: number;
}

export interface TaskResult {
  status: WorkflowStatusName;
  outputs: WorkflowOutputs;
  /** Why it did not succeed, once it failed or was cancelled. */
  error?: { code: string; message: string; nodeID?: string };
}

export interface Runtime {
  /** Runs a workflow to its end; resolves with its outputs or rejects with a `WorkflowRunError`. */
  run(schema: SchemaInput, inputs?: WorkflowInputs | string, options?: StartOptions): Promise<WorkflowOutputs>;
  /** Starts a workflow and returns its task at once. Throws only when the schema is not JSON/an object. */
  start(schema: SchemaInput, inputs?: WorkflowInputs | string, options?: StartOptions): Task;
  /**
   * Resumes a failed or cancelled task under the same ID: nodes that succeeded keep their outputs (not
   * run again), the failed node and what follows it run; the report keeps the earlier snapshots.
   * Rejects with FLOWGRAM_ERR_TASK_NOT_FOUND, or FLOWGRAM_ERR_TASK_CONFLICT when it runs or succeeded.
   */
  resume(taskID: string, options?: ResumeOptions): Promise<Task>;
  /**
   * Starts a new task that reuses an ended task's outputs for every node not downstream of
   * `fromNodeID`, and runs that node and what follows it; the new task records `rerunOf`. Rejects with
   * FLOWGRAM_ERR_TASK_NOT_FOUND, FLOWGRAM_ERR_TASK_CONFLICT (still running), FLOWGRAM_ERR_BAD_REQUEST
   * (no such node) or FLOWGRAM_ERR_SCHEMA_INVALID (the given schema or inputs, every problem listed).
   */
  rerun(taskID: string, options: RerunOptions): Promise<Task>;
  /**
   * Throws what `rerun` would (FLOWGRAM_ERR_SCHEMA_INVALID, FLOWGRAM_ERR_BAD_REQUEST for an unknown node)
   * for re-running `taskID` with this schema and these inputs, without running anything (queue mode
   * checks a re-run before it enqueues it).
   */
  checkRerun(taskID: string, schema: SchemaInput, inputs: WorkflowInputs, fromNodeID: string): void;
  /**
   * Runs one node of the workflow's top level and nothing else: with `inputs` (validated against its
   * declared inputs; a loop takes `loopFor`, the array its body runs for) or as it ran in the ended
   * task `taskID` (its refs resolve to that task's outputs). FLOWGRAM_ERR_BAD_REQUEST names an unknown node.
   */
  runNode(schema: SchemaInput, nodeID: string, source: RunNodeSource): Promise<NodeRunResult>;
  /**
   * Continues a task from the state its earlier run left (see `TaskHistory`): the one entry crash
   * recovery, `resume`, signals and queue workers use. `answer` answers a node the task waited on.
   * Throws when the schema or inputs are not valid.
   */
  continueTask(task: ContinuedTask, history: TaskHistory, inputs?: WorkflowInputs, answer?: { nodeID: string; answer: WaitAnswer }): Task;
  /**
   * The schema as a task stores and runs it: literal keys typed into forms moved into `secrets` (their
   * writes durable once `flush()` resolves) and replaced by references; the input itself when it has none.
   */
  prepareSchema(schema: SchemaInput): SchemaInput;
  /** Checks a schema (and inputs) without running it; every problem at once. */
  validate(schema: SchemaInput, inputs?: WorkflowInputs | string): ValidationReport;
  /** The live task, while it is in memory (running, or ended and within retention). */
  getTask(taskID: string): Task | undefined;
  /** The report of any known task (in memory or, with a store, persisted); undefined when unknown. */
  getReport(taskID: string): Promise<IReport | undefined>;
  /** The workflow schema a known task ran (parsed, for showing: its secrets masked); undefined when unknown. */
  getSchema(taskID: string): Promise<unknown>;
  /** Status and outputs of any known task; undefined when unknown. Outputs are `{}` unless it succeeded. */
  getResult(taskID: string): Promise<TaskResult | undefined>;
  /** Forgets a task (cancelling it first if it still runs); false when unknown. */
  deleteTask(taskID: string): Promise<boolean>;
  /**
   * Answers a `wait` node of a task waiting for a signal: `data` (checked against the node's declared
   * outputs, FLOWGRAM_ERR_INPUTS_INVALID with a path per problem) become its outputs and the workflow
   * runs on, here (from the store, if the task is not in this runtime's memory). Resolves with the task.
   */
  signal(taskID: string, nodeID: string, data: WorkflowOutputs): Promise<Task>;
  /** Cancels a task, also one waiting for a signal that only the store holds. True when this call ended it; undefined when unknown. */
  cancelTask(taskID: string, reason?: string): Promise<boolean | undefined>;
  /** Lets go of a task that waits for a signal (or has ended) without cancelling it: what journals it elsewhere keeps it (a queue worker). */
  release(taskID: string): void;
  /** Known tasks, newest first. */
  listTasks(filter?: ListTasksFilter): Promise<TaskSummary[]>;
  /** How many known tasks match the filter's time range and search, per status. */
  countTasks(filter?: Omit<ListTasksFilter, 'status' | 'limit' | 'offset'>): Promise<TaskCounts>;
  registerExecutor(executor: NodeExecutor): void;
  /** Tasks running, waiting for a slot, and held in memory right now. */
  stats(): { running: number; queued: number; inMemory: number };
  readonly executors: ReadonlyMap<string, NodeExecutor>;
  /** The limits in force: what `createRuntime` was given, every task limit filled in with its default. */
  readonly limits: RuntimeLimits & Readonly<TaskLimits>;
  /** Where secret references resolve and literal keys are moved (names and dates may be listed, values never leave it). */
  readonly secrets: SecretStore;
  /**
   * Resolves once everything so far is durable in the store (at once without one). An accepted
   * task is handed to the store in a microtask after `start()` and committed asynchronously (the
   * SQLite store writes on its own thread): a caller that announces the task (e.g. an HTTP handler
   * before it replies) awaits this first. Rejects with FLOWGRAM_ERR_STORE_UNAVAILABLE when the store
   * cannot write at all (see `storeFailure`): what was accepted may be lost.
   */
  flush(): Promise<void>;
  /** Why the store cannot write at all, while it cannot (writes and heartbeats failing); undefined when it can, or without a store. */
  storeFailure(): FlowgramError | undefined;
  /** Cancels running tasks, releases executors' resources; the runtime accepts nothing afterwards. */
  close(): Promise<void>;
}

/** The warning a task resumed after its process died gets in its report (one per takeover). */
function resumedWarning(taskID: string): { id: string; type: 'warning'; message: string; timestamp: number } {
  const now = Date.now();
  return { id: `${taskID}:resumed-${now}`, type: 'warning', message: RESUMED_MESSAGE, timestamp: now };
}

function isExecutor(value: unknown): value is NodeExecutor {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NodeExecutor).type === 'string' &&
    typeof (value as NodeExecutor).execute === 'function'
  );
}

const TERMINAL_STATUSES: ReadonlySet<WorkflowStatusName> = new Set(['succeeded', 'failed', 'canceled']);

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const executors = new Map<string, NodeExecutor>();
  const limits: RuntimeLimits & Readonly<TaskLimits> = { ...options.limits, ...resolveLimits(options.limits) };
  const network: NetworkPolicy = { ...options.network };
  const tasks = new Map<string, Task>();
  const retention = new Retention(tasks, options.retention);
  const admission = new Admission<WorkflowExecution>(options.concurrency);
  let closed = false;
  const store = options.store;
  const secrets = options.secrets ?? new SecretStore();
  const leaseMs = options.recovery?.leaseMs;
  if (leaseMs !== undefined && !(Number.isFinite(leaseMs) && leaseMs > 0)) {
    throw new FlowgramError(ErrorCodes.BAD_REQUEST, 'recovery.leaseMs: must be a positive number of milliseconds');
  }
  // Each runtime owns the tasks it accepts; recovery settles only the tasks of runtimes that are gone.
  const owner = store ? newOwnerID() : undefined;
  const journal = store ? new TaskJournal(store, { owner }) : undefined;
  const checkpoints = options.checkpoints ?? store !== undefined;

  /** A task waits for a signal: it frees its slot; with a store it is durable and leaves memory like an ended task. */
  function executionSuspended(execution: WorkflowExecution): void {
    admission.suspended();
    const task = tasks.get(execution.params.taskID);
    if (!task) return;
    waits.suspended(task);
    if (store && !retention.retired(task)) retention.retire(task);
  }

  function executionContinued(execution: WorkflowExecution): void {
    admission.continued();
    const task = tasks.get(execution.params.taskID);
    if (task) retention.reopen(task);
  }

  /** Runs synchronously as each execution ends (no promise per task on the hot path). */
  function executionEnded(execution: WorkflowExecution): void {
    const task = tasks.get(execution.params.taskID);
    admission.ended(execution);
    // Not retired yet only for the task this execution belongs to (not a later one reusing a deleted ID).
    if (task && task.ended && !retention.retired(task)) retention.retire(task);
  }

  const compiledSchemas = new CompiledSchemas({ limits, executors, secrets });

  function register(executor: NodeExecutor): void {
    if (!isExecutor(executor)) {
      throw new FlowgramError(ErrorCodes.BAD_REQUEST, 'executor: must be an object with a string "type" and an "execute" function');
    }
    executors.set(executor.type, executor);
    // Known types changed, so cached validation results may be stale.
    compiledSchemas.clear();
  }
  for (const executor of defaultExecutors()) register(executor);
  for (const executor of options.executors ?? []) register(executor);

  /** The schema's problems and the inputs' (`code` says which: a sound workflow given bad inputs is INPUTS_INVALID). */
  function check(input: SchemaInput, inputs: WorkflowInputs, checkInputs = true): { compiled: CompiledSchema; errors: string[]; code: ErrorCode } {
    if (measureJson(inputs, limits.maxJsonDepth, Number.POSITIVE_INFINITY).exceeded) {
      throw limitExceeded('maxJsonDepth', `inputs: nest deeper than ${limits.maxJsonDepth} levels`);
    }
    const compiled = compiledSchemas.compile(input);
    const errors = compiled.issues.map((issue) => issue.message);
    const code = errors.length === 0 && compiled.document ? ErrorCodes.INPUTS_INVALID : ErrorCodes.SCHEMA_INVALID;
    if (checkInputs) errors.push(...validateInputs(compiled.inputsSchema, inputs));
    return { compiled, errors, code };
  }

  /** What is stored and shown: the schema with literal keys replaced by references (those keys adopted by the secret store). */
  function prepared(schema: SchemaInput, compiled: CompiledSchema): SchemaInput {
    for (const literal of compiled.literals) secrets.adoptLiteral(literal.name, literal.value);
    return compiled.literals.length > 0 ? compiled.schema : schema;
  }

  /** runNode: the secrets the node under test reads (not those of nodes that do not run, nor of inputs given in place of its own). */
  function testedNodeReferences(compiled: CompiledSchema, only: NonNullable<TaskCheckpoint['only']>): readonly SecretReference[] {
    const nodes: unknown[] = Array.isArray(compiled.schema.nodes) ? compiled.schema.nodes : [];
    const path = `nodes[${nodes.findIndex((node) => (node as { id?: unknown } | null)?.id === only.nodeID)}]`;
    return referencesUnder(compiled.references, path, only.inputs === undefined ? undefined : `${path}.data.inputsValues`);
  }

  function start(schema: SchemaInput, rawInputs?: WorkflowInputs | string, startOptions: StartOptions = {}, from?: Continuation): Task {
    if (closed) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'runtime: closed, no new tasks are accepted');
    const inputs = parseInputsInput(rawInputs);
    // runNode gives the node its inputs: the workflow's own inputs are not needed.
    const { compiled, errors, code } = check(schema, inputs, from?.checkpoint.only === undefined);
    const { document } = compiled;
    const references = from?.checkpoint.only === undefined ? compiled.references : testedNodeReferences(compiled, from.checkpoint.only);
    const stored = prepared(schema, compiled);
    const taskID = startOptions.taskID ?? newTaskID();
    if (tasks.has(taskID)) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `taskID: "${taskID}" is already in use`);
    const recorder = new TaskRecorder(taskID, inputs, limits, checkpoints);
    if (from?.rerunOf !== undefined) recorder.rerunOf = from.rerunOf;
    if (!document || errors.length > 0) {
      // An invalid workflow still becomes a (failed) task, as upstream does, so clients find its errors in the report.
      recorder.workflowStarted();
      for (const message of errors) recorder.message('error', message);
      recorder.workflowFinished('failed', { code, message: errors.join('; ') });
      const task = new Task(recorder, undefined, { code, errors }, stored);
      retention.track(task);
      journal?.accept(task, stored);
      return task;
    }
    admission.checkRoom();
    const execution = new WorkflowExecution({
      taskID,
      document,
      inputs,
      executors,
      limits,
      network,
      recorder,
      checkpoint: from?.checkpoint,
      onEnded: executionEnded,
      onSuspended: executionSuspended,
      onContinued: executionContinued,
      ...(references.length > 0 ? { secrets: { references, resolve: (names: readonly string[]) => secrets.resolve(names) } } : {}),
    });
    const task = new Task(recorder, execution, undefined, document.schema);
    retention.track(task);
    admission.submit(execution);
    // After admission: a workflow that completes synchronously has ended by the time the journal's
    // accept write runs, so it is written once, already ended.
    journal?.accept(task, stored);
    return task;
  }

  function continueTask(task: ContinuedTask, history: TaskHistory, inputs: WorkflowInputs = task.inputs, answer?: { nodeID: string; answer: WaitAnswer }): Task {
    if ('rerun' in history) {
      const { of, report, fromNodeID, inputsChanged } = history.rerun;
      const { document, from } = rerunPlan(of, task.schema, inputs, fromNodeID);
      const also = inputsChanged && document.start ? [document.start] : [];
      return start(task.schema, inputs, { taskID: task.id }, { checkpoint: rerunCheckpoint(document, report, from, also), rerunOf: of });
    }
    const { compiled, errors } = check(task.schema, inputs);
    const { document } = compiled;
    if (!document || errors.length > 0) {
      throw new FlowgramError(ErrorCodes.SCHEMA_INVALID, `task "${task.id}" cannot continue: ${errors.join('; ')}`, { details: errors });
    }
    let checkpoint =
      'events' in history
        ? checkpointFromEvents(document, history.events, journalReport(task, history.events, Date.now(), resumedWarning(task.id)))
        : checkpointFromReport(document, history.report);
    // New inputs: the start node outputs them, and whatever depends on it sees them.
    if (inputs !== task.inputs && document.start) checkpoint = checkpointWithout(checkpoint, new Set([document.start.id]));
    if (answer) checkpoint = checkpointAnswering(checkpoint, answer.nodeID, answer.answer);
    // A re-run task continued after a crash is still a re-run.
    return start(task.schema, inputs, { taskID: task.id }, task.rerunOf === undefined ? { checkpoint } : { checkpoint, rerunOf: task.rerunOf });
  }

  const waits = new WaitingTasks({
    live: (taskID) => tasks.get(taskID),
    forget(task) {
      if (tasks.get(task.id) === task) tasks.delete(task.id);
    },
    store,
    owner,
    flush: async () => {
      await journal?.flush();
    },
    documentOf(record) {
      const { compiled, errors } = check(record.schema, record.inputs);
      if (!compiled.document || errors.length > 0) throw new FlowgramError(ErrorCodes.SCHEMA_INVALID, `task "${record.id}" cannot continue: ${errors.join('; ')}`, { details: errors });
      return compiled.document;
    },
    continueStored: (record, report, answer) => continueTask(record, { report }, record.inputs, answer),
  });

  /** Continues a task a dead runtime left: from its journal, or from the report it was stored with (it waited, and was claimed by a signal that had written nothing more). */
  function continueInterrupted(record: TaskRecord, left: LeftBehind): Task {
    if ('events' in left) return continueTask(record, left);
    const { messages } = left.report;
    const warning = [...messages.warning, resumedWarning(record.id)] as unknown as IReport['messages']['warning'];
    return continueTask(record, { report: { ...left.report, messages: { ...messages, warning } } });
  }

  // Tasks of dead runtimes (the previous process, a crashed peer) are settled before any query is answered, then every lease;
  // the timeouts of tasks waiting in the store (a dead peer's too) are armed then, and again every lease.
  const recovered = journal?.startRecovery(continueInterrupted, options.recovery).then(() => waits.watchStored(leaseMs ?? DEFAULT_LEASE_MS));
  /** The store, once recovery is done and pending writes are durable. */
  async function stored(): Promise<TaskStore | undefined> {
    if (!store || !journal) return undefined;
    await recovered;
    await journal.flush();
    return store;
  }

  /** With a store, an outcome is shown only once it is written: what a client saw survives a crash. */
  async function durable(task: Task): Promise<void> {
    if (journal && task.ended) await journal.durable(task.id);
  }

  /** An ended task, from memory or the store, with its final report (durable before it is reused). */
  async function endedRun(taskID: string, action: string): Promise<{ task: ContinuedTask; status: WorkflowStatusName; report: IReport; live: Task | undefined }> {
    if (closed) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'runtime: closed, no new tasks are accepted');
    const live = tasks.get(taskID);
    let earlier: { task: ContinuedTask; status: WorkflowStatusName; report: IReport | undefined };
    if (live) {
      const schema = typeof live.schema === 'string' ? live.schema : JSON.stringify(live.schema);
      const { startTime } = live.summary();
      const task: ContinuedTask = { id: taskID, schema, inputs: live.inputs, startTime, createdAt: startTime };
      if (live.rerunOf !== undefined) task.rerunOf = live.rerunOf;
      earlier = { task, status: live.status, report: live.ended ? live.report() : undefined };
      await durable(live);
      // Runtimes sharing the store (servers on one database): another may have resumed it since it ended here.
      const record = live.ended ? await (await stored())?.getTask(taskID) : undefined;
      if (record && !TERMINAL_STATUSES.has(record.status)) earlier.status = record.status;
    } else {
      const persisted = await stored();
      const record = await persisted?.getTask(taskID);
      if (!persisted || !record) throw new FlowgramError(ErrorCodes.TASK_NOT_FOUND, `taskID: no such task "${taskID}"`);
      earlier = { task: record, status: record.status, report: await persisted.getReport(taskID) };
    }
    if (!earlier.report || earlier.status === 'pending' || earlier.status === 'processing') {
      throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${taskID}" is still ${earlier.status}; cancel it or wait for it to end before ${action}`);
    }
    return { ...earlier, report: earlier.report, live };
  }

  async function resume(taskID: string, resumeOptions: ResumeOptions = {}): Promise<Task> {
    const earlier = await endedRun(taskID, 'resuming');
    if (earlier.status === 'succeeded') throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${taskID}" succeeded; only a failed or cancelled task can be resumed`);
    // Another resume of it got here first (while this one read the store).
    const current = tasks.get(taskID);
    if (current !== undefined && current !== earlier.live) {
      throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${taskID}" is already being resumed (${current.status})`);
    }
    const inputs = resumeOptions.inputs === undefined ? undefined : parseInputsInput(resumeOptions.inputs);
    // The resumed run replaces it under the same ID (its final state is written: see endedRun).
    if (tasks.get(taskID) === earlier.live) tasks.delete(taskID);
    return continueTask(earlier.task, { report: earlier.report }, inputs);
  }

  /** The document a re-run runs and the node it runs from; throws what makes the re-run impossible. */
  function rerunPlan(taskID: string, schema: SchemaInput, inputs: WorkflowInputs, fromNodeID: string): { document: WorkflowDocument; from: DocumentNode } {
    if (typeof fromNodeID !== 'string' || fromNodeID === '') throw new FlowgramError(ErrorCodes.BAD_REQUEST, 'fromNodeID: is required');
    const { compiled, errors } = check(schema, inputs);
    const { document } = compiled;
    if (!document || errors.length > 0) {
      throw new FlowgramError(ErrorCodes.SCHEMA_INVALID, `schema: cannot re-run task "${taskID}": ${errors.join('; ')}`, { details: errors });
    }
    const from = document.nodes.get(fromNodeID);
    if (!from) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `fromNodeID: the workflow has no node "${fromNodeID}"`);
    return { document, from };
  }

  async function rerun(taskID: string, rerunOptions: RerunOptions): Promise<Task> {
    const fromNodeID = (rerunOptions as Partial<RerunOptions> | undefined)?.fromNodeID;
    if (typeof fromNodeID !== 'string' || fromNodeID === '') throw new FlowgramError(ErrorCodes.BAD_REQUEST, 'fromNodeID: is required');
    const earlier = await endedRun(taskID, 're-running it');
    const schema = rerunOptions.schema ?? earlier.task.schema;
    const inputs = rerunOptions.inputs === undefined ? earlier.task.inputs : parseInputsInput(rerunOptions.inputs);
    const { document, from } = rerunPlan(taskID, schema, inputs, fromNodeID);
    // New inputs: the start node outputs them.
    const also = rerunOptions.inputs !== undefined && document.start ? [document.start] : [];
    return start(schema, inputs, {}, { checkpoint: rerunCheckpoint(document, earlier.report, from, also), rerunOf: taskID });
  }

  async function runNode(schema: SchemaInput, nodeID: string, source: RunNodeSource): Promise<NodeRunResult> {
    const { document, issues } = compiledSchemas.compile(schema);
    if (!document || issues.length > 0) {
      const errors = issues.map((issue) => issue.message);
      throw new FlowgramError(ErrorCodes.SCHEMA_INVALID, `schema: ${errors.join('; ')}`, { details: errors });
    }
    const node = document.nodes.get(nodeID);
    if (!node) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `nodeID: the workflow has no node "${nodeID}"`);
    if (node.graph !== document.graph) {
      throw new FlowgramError(ErrorCodes.BAD_REQUEST, `nodeID: node "${nodeID}" is inside a loop; run its loop ("${node.graph.ownerID ?? ''}") instead`);
    }
    let nodes: TaskCheckpoint['nodes'];
    let inputs: WorkflowInputs | undefined;
    let taskInputs: WorkflowInputs = {};
    if ('taskID' in source) {
      const earlier = await endedRun(source.taskID, 'running one of its nodes');
      if (!earlier.report.reports[nodeID]) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `nodeID: node "${nodeID}" did not run in task "${source.taskID}"`);
      nodes = checkpointFromReport(document, earlier.report, true).nodes;
      taskInputs = earlier.task.inputs;
    } else {
      const { loopFor, ...declared } = parseInputsInput(source.inputs);
      const errors = validateInputs(node.inputs, declared);
      if (errors.length > 0) throw new FlowgramError(ErrorCodes.INPUTS_INVALID, `inputs of node "${nodeID}": ${errors.join('; ')}`, { details: errors });
      inputs = declared;
      taskInputs = declared; // what a start node outputs
      nodes = loopForCheckpoint(node, loopFor);
    }
    const report = { id: '', inputs: {}, outputs: {}, workflowStatus: { status: 'processing', terminated: false, startTime: Date.now(), timeCost: 0 }, reports: {}, messages: { log: [], info: [], debug: [], error: [], warning: [] } } as unknown as IReport;
    const task = start(schema, taskInputs, {}, { checkpoint: { nodes, iterations: new Map(), report, only: inputs === undefined ? { nodeID } : { nodeID, inputs } } });
    await task.done;
    const result: NodeRunResult = { taskID: task.id, status: task.status, report: task.report() };
    const snapshots = result.report.reports[nodeID]?.snapshots as Array<{ outputs?: WorkflowOutputs }> | undefined;
    const outputs = snapshots?.[snapshots.length - 1]?.outputs;
    if (outputs !== undefined) result.outputs = outputs;
    if (task.error && task.status !== 'succeeded') result.error = task.error;
    return result;
  }

  return {
    executors,
    limits,
    secrets,
    start,
    resume,
    rerun,
    checkRerun(taskID, schema, inputs, fromNodeID) {
      rerunPlan(taskID, schema, inputs, fromNodeID);
    },
    runNode,
    continueTask,
    run(schema, inputs, runOptions) {
      try {
        return start(schema, inputs, runOptions).wait();
      } catch (error) {
        return Promise.reject(error);
      }
    },
    prepareSchema: (schema) => prepared(schema, compiledSchemas.compile(schema)),
    validate(schema, rawInputs) {
      let inputs: WorkflowInputs;
      try {
        inputs = parseInputsInput(rawInputs);
        const { compiled, errors } = check(schema, inputs);
        // Literal keys typed into the schema are references now; they are stored when a task is accepted.
        const literal = new Set(compiled.literals.map((entry) => entry.name));
        errors.push(...unknownSecretMessages(compiled.references, (name) => secrets.has(name) || literal.has(name)));
        const result: ValidationReport = errors.length === 0 ? { valid: true } : { valid: false, errors };
        if (compiled.warnings.length > 0) result.warnings = compiled.warnings;
        return result;
      } catch (error) {
        if (error instanceof FlowgramError) return { valid: false, errors: [error.message] };
        throw error;
      }
    },
    getTask: (taskID) => tasks.get(taskID),
    async getSchema(taskID) {
      const task = tasks.get(taskID);
      // For showing only: a secret's value typed anywhere in it (e.g. inside a script) is masked.
      if (task) return task.masked(typeof task.schema === 'string' ? parseSchemaInput(task.schema) : task.schema);
      const record = await (await stored())?.getTask(taskID);
      return record ? parseSchemaInput(record.schema) : undefined;
    },
    async getReport(taskID) {
      const task = tasks.get(taskID);
      if (!task) return (await stored())?.getReport(taskID);
      await durable(task);
      return task.report();
    },
    async getResult(taskID) {
      const task = tasks.get(taskID);
      if (!task) {
        const record = await (await stored())?.getTask(taskID);
        if (!record) return undefined;
        return record.error ? { status: record.status, outputs: record.outputs ?? {}, error: record.error } : { status: record.status, outputs: record.outputs ?? {} };
      }
      await durable(task);
      const error = task.status === 'succeeded' ? undefined : task.error;
      return error ? { status: task.status, outputs: task.result() ?? {}, error } : { status: task.status, outputs: task.result() ?? {} };
    },
    async signal(taskID, nodeID, data) {
      if (closed) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'runtime: closed, no new tasks are accepted');
      await recovered;
      return waits.signal(taskID, nodeID, data);
    },
    async cancelTask(taskID, reason = 'cancelled by user') {
      await recovered;
      return waits.cancel(taskID, reason);
    },
    release(taskID) {
      const task = tasks.get(taskID);
      if (task && (task.ended || task.status === 'waiting')) tasks.delete(taskID);
    },
    async deleteTask(taskID) {
      const task = tasks.get(taskID);
      if (task) {
        task.cancel('task deleted');
        tasks.delete(taskID);
      }
      const removed = await (await stored())?.deleteTask(taskID);
      return task !== undefined || removed === true;
    },
    async listTasks(filter = {}) {
      retention.prune(Date.now());
      const persisted = await stored();
      if (persisted) return persisted.listTasks({ ...filter, limit: filter.limit ?? 100, offset: filter.offset ?? 0 });
      const limit = filter.limit ?? 100;
      let skip = filter.offset ?? 0;
      const out: TaskSummary[] = [];
      const all = [...tasks.values()];
      for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
        const summary = all[i].summary();
        if (!matchesListFilter(summary, filter)) continue;
        if (skip > 0) {
          skip--;
          continue;
        }
        out.push(summary);
      }
      return out;
    },
    async countTasks(filter = {}) {
      const persisted = await stored();
      if (persisted) return persisted.countTasks(filter);
      const counts = emptyCounts();
      for (const task of tasks.values()) {
        const summary = task.summary();
        if (matchesCountFilter(summary, filter)) counts[summary.status]++;
      }
      return counts;
    },
    registerExecutor: register,
    stats: () => ({ running: admission.running, queued: admission.queued, inMemory: tasks.size }),
    storeFailure: () => journal?.failure,
    async flush() {
      // Literal keys first: a task row must never be durable before the secret it references.
      await secrets.flush();
      await stored();
      const failure = journal?.failure;
      if (failure) throw failure;
    },
    async close() {
      if (closed) return;
      closed = true;
      const waitsClosed = waits.close();
      // A waiting task in a store is durable: it waits there for its signal (any runtime continues it).
      for (const task of tasks.values()) if (!(store && task.status === 'waiting')) task.cancel('runtime closed');
      await Promise.all([...new Set(executors.values())].map((executor) => executor.close?.()));
      await waitsClosed; // a scan or timeout in flight ends before the store closes under it
      await recovered;
      await journal?.close();
      await store?.close();
    },
  };
}
