import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import { limitExceeded, type TaskLimits } from '../limits.js';
import { REDACTED } from '../redact.js';
import type { BlockGraph, DocumentNode, WorkflowDocument } from '../schema/document.js';
import { NodeTypes, type WorkflowInputs, type WorkflowOutputs } from '../schema/types.js';
import type { NodeCheckpoint, TaskCheckpoint, WaitAnswer } from './checkpoint.js';
import { ERROR_PORT, retryDelayMs, type NodePolicy } from './node-policy.js';
import { sleep } from '../net/retry.js';
import type { TaskRecorder } from './recorder.js';
import { SECRETS_SCOPE, secretNames, unknownSecretMessages, type SecretReference } from '../secrets/references.js';
import { registerKnownSecrets } from './secrets.js';
import { resumeLater, sliceOver } from './slices.js';
import { VariableScope, resolveNodeInputs, storeGlobals, storeNodeOutputs } from './state.js';
import type {
  BlockControl,
  BlockRun,
  ExecutionContext,
  IterationCheckpoint,
  ExecutionResult,
  NetworkPolicy,
  NodeExecutor,
  NodeLogger,
  ResolvedValue,
  RuntimeLimits,
} from './types.js';
import { copyRecordWithin, type CopyBudget } from './value-types.js';

export interface ExecutionParams {
  readonly taskID: string;
  readonly document: WorkflowDocument;
  readonly inputs: WorkflowInputs;
  readonly executors: ReadonlyMap<string, NodeExecutor>;
  /** The runtime's limits, every task limit resolved (see `resolveLimits`). */
  readonly limits: RuntimeLimits & Readonly<TaskLimits>;
  readonly network: NetworkPolicy;
  readonly recorder: TaskRecorder;
  /** The secrets the workflow references (`["secrets", NAME]`, `{{secrets.NAME}}`), resolved before the first node runs. */
  readonly secrets?: WorkflowSecrets;
  /**
   * Continue from here instead of starting afresh (a resumed task): checkpointed nodes are not run
   * again, their outputs fill the variables and their branches steer the scheduler as before.
   */
  readonly checkpoint?: TaskCheckpoint;
  /** Called synchronously once the workflow has ended (bookkeeping without a promise per task). */
  readonly onEnded?: (execution: WorkflowExecution) => void;
  /** Called once nothing runs and the task waits for signals to its `wait` nodes (see `answer`). */
  readonly onSuspended?: (execution: WorkflowExecution) => void;
  /** Called when a signal makes a waiting task run again. */
  readonly onContinued?: (execution: WorkflowExecution) => void;
}

export interface WorkflowSecrets {
  readonly references: readonly SecretReference[];
  resolve(names: readonly string[]): Promise<ReadonlyMap<string, string>>;
}

export interface WorkflowError {
  code: string;
  message: string;
  nodeID?: string;
}

type Snapshot = ReturnType<TaskRecorder['nodeStarted']>;

/** Nodes after which the graph does not continue along edges. */
const TERMINATING_TYPES: ReadonlySet<string> = new Set([
  NodeTypes.End,
  NodeTypes.BlockEnd,
  NodeTypes.Break,
  NodeTypes.Continue,
]);

/** Nodes a task runs before it first checks the slice clock: a small workflow always ends inside `start()`. */
const NODES_BEFORE_YIELDING = 64;
/** Then it looks at the slice's clock every this many nodes (a power of two): a look (~50 ns) is a tenth of a small node. */
const NODES_PER_SLICE_CHECK = 8;
const RESOLVED: Promise<void> = Promise.resolve();
const NOOP = (): void => undefined;
const NO_ITERATIONS: readonly IterationCheckpoint[] = [];
/** How a node without policies fails: the workflow fails. */
const FAIL_POLICY: NodePolicy = { retry: undefined, timeoutMs: undefined, onError: 'fail', defaults: undefined };

/** A node waiting for its signal, and the run of it in the report. */
interface WaitingNode {
  readonly node: DocumentNode;
  readonly snapshot: Snapshot;
  /** When it times out (epoch ms), if it has a timeout. */
  readonly deadline: number | undefined;
}

/** How one attempt of a node with policies ended. */
type AttemptOutcome = { value: ExecutionResult; error?: undefined } | { value?: undefined; error: unknown };

/**
 * One run of a workflow: schedules nodes, records what happens, and ends exactly once with
 * succeeded, failed or canceled. Knows nothing of HTTP, storage or queues.
 */
export class WorkflowExecution {
  // Created on first use: most workflows never look at the signal, and an AbortController is costly to keep.
  private abortController: AbortController | undefined;
  private abortReason: FlowgramError | undefined;
  /** Settles (never rejects) when the workflow has ended. */
  readonly done: Promise<void>;
  error: WorkflowError | undefined;
  private settle!: () => void;
  /** Node executions so far. */
  executions = 0;
  private readonly maxExecutions: number;
  /** When the task runs out of `taskTimeoutMs` (epoch ms); set by `start()`. */
  deadline = Number.POSITIVE_INFINITY;
  /** Set only once the task waits on something asynchronous: most tasks end within their first slice. */
  private timeoutTimer: NodeJS.Timeout | undefined;
  /** Bounds every copy the engine records (inputs, outputs), and counts its size. */
  readonly budget: CopyBudget;

  constructor(readonly params: ExecutionParams) {
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.maxExecutions = params.limits.maxNodeExecutions;
    this.budget = { maxBytes: params.limits.maxValueBytes, maxDepth: params.limits.maxJsonDepth, bytes: 0, exceeded: undefined };
    // At acceptance, not at start: the stored task (its inputs) must already be masked.
    registerKnownSecrets(params.document, params.executors, params.inputs, params.recorder, params.checkpoint?.only);
  }

  get ended(): boolean {
    return this.params.recorder.terminated;
  }

  /** Aborted when the task ends other than by succeeding. */
  get controller(): AbortController {
    if (!this.abortController) {
      this.abortController = new AbortController();
      if (this.abortReason !== undefined) this.abortController.abort(this.abortReason);
    }
    return this.abortController;
  }

  /** Whether `start()` ran (a queued execution may end, cancelled, without ever starting). */
  started = false;
  /** The workflow's run while it waits for signals (nothing runs); undefined otherwise. */
  private suspendedRun: GraphRun | undefined;
  /** True while the task waits for a signal, and still after it ended while waiting (e.g. cancelled). */
  suspended = false;

  /** Whether the task waits for a signal (nothing runs until `answer`). */
  get waiting(): boolean {
    return this.suspendedRun !== undefined && !this.ended;
  }

  /** The nodes the task waits on, with their deadlines (epoch ms) if they have a timeout. */
  waitingNodes(): Array<{ nodeID: string; deadline: number | undefined }> {
    return this.suspendedRun?.waitingNodes() ?? [];
  }

  /** Nothing runs: the task waits for signals to its `wait` nodes. Its timeout clock stops meanwhile. */
  suspend(run: GraphRun): void {
    if (this.ended) return;
    this.suspendedRun = run;
    this.suspended = true;
    if (this.timeoutTimer !== undefined) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
    this.params.recorder.workflowWaiting();
    this.params.onSuspended?.(this);
  }

  /**
   * Answers a waiting node: its outputs (a signal), or the error it fails with (its wait timed out,
   * handled by its `onError` policy), and runs the workflow on. False when the task does not wait on it.
   */
  answer(nodeID: string, answer: WaitAnswer): boolean {
    const run = this.suspendedRun;
    if (!run || this.ended || !run.waitsFor(nodeID)) return false;
    this.suspendedRun = undefined;
    this.suspended = false;
    const now = this.params.recorder.workflowStarted();
    // taskTimeoutMs counts what runs: a task gets it afresh after each wait.
    this.deadline = now + this.params.limits.taskTimeoutMs;
    run.clock = now;
    this.params.onContinued?.(this);
    run.answer(nodeID, answer);
    return true;
  }

  start(): void {
    this.started = true;
    const { document, recorder, secrets, checkpoint } = this.params;
    if (checkpoint) recorder.restore(checkpoint.report, document);
    const startedAt = recorder.workflowStarted();
    this.deadline = startedAt + this.params.limits.taskTimeoutMs;
    const scope = new VariableScope(undefined, this.params.limits.maxValueBytes);
    if (!secrets || secrets.references.length === 0) return this.run(startedAt, scope);
    this.armTimeout();
    // Only workflows that reference secrets wait for them; their values are masked before any node runs.
    secrets.resolve(secretNames(secrets.references)).then(
      (values) => {
        if (this.ended) return;
        const unknown = unknownSecretMessages(secrets.references, (name) => values.has(name));
        if (unknown.length > 0) {
          for (const message of unknown) recorder.message('error', message);
          this.finish('failed', { code: ErrorCodes.SECRET_UNKNOWN, message: unknown.join('; ') });
          return;
        }
        try {
          for (const [name, value] of values) {
            recorder.addSecret(value);
            scope.set(SECRETS_SCOPE, name, { value, type: 'string' });
          }
        } catch (error) {
          this.finish('failed', { code: error instanceof FlowgramError ? error.code : ErrorCodes.INTERNAL, message: errorMessage(error) });
          return;
        }
        this.run(startedAt, scope);
      },
      (error: unknown) => {
        const code = error instanceof FlowgramError ? error.code : ErrorCodes.INTERNAL;
        this.finish('failed', { code, message: `secrets: ${errorMessage(error)}` });
      },
    );
  }

  private run(startedAt: number, scope: VariableScope): void {
    const { document, recorder, checkpoint } = this.params;
    storeGlobals(document.globalVariable, scope);
    const run = new GraphRun(this, document.graph, scope, undefined, checkpoint);
    run.clock = startedAt;
    // Nobody can have subscribed yet: progress emitted in here is kept for the first subscriber.
    recorder.keepingEarlyProgress = true;
    const finishedNow = run.run();
    recorder.keepingEarlyProgress = false;
    // Most workflows of built-in nodes finish right here; only the rest need a promise.
    if (finishedNow) this.finish('succeeded');
    else {
      run.finished().then(
        () => this.finish('succeeded'),
        () => undefined, // failures were recorded where they happened
      );
    }
  }

  /** Ends the task as canceled; false when it had already ended. */
  cancel(reason: string): boolean {
    if (this.ended) return false;
    // The reason is in the report's messages too, before the workflow_finished event that ends the stream.
    this.params.recorder.message('warning', `task cancelled: ${reason}`);
    return this.finish('canceled', { code: ErrorCodes.TASK_CANCELLED, message: reason });
  }

  /** Fails the task for running past `taskTimeoutMs`, naming the nodes that were running. */
  timeOut(): void {
    const running = this.params.recorder.runningNodeIDs();
    const during = running.length === 0 ? '' : ` (running: ${running.map((id) => `"${id}"`).join(', ')})`;
    const error = limitExceeded('taskTimeoutMs', `the task ran longer than ${this.params.limits.taskTimeoutMs} ms${during}`, running[0]);
    this.finish('failed', { code: error.code, message: error.message, ...(running[0] === undefined ? {} : { nodeID: running[0] }) });
  }

  /** Arms the `taskTimeoutMs` timer once the task waits on something asynchronous (a slice check sees the clock otherwise). */
  armTimeout(): void {
    if (this.timeoutTimer !== undefined || this.deadline === Number.POSITIVE_INFINITY || this.ended) return;
    this.timeoutTimer = setTimeout(() => this.timeOut(), Math.max(0, this.deadline - Date.now()));
    // The timer alone must not keep the process alive.
    this.timeoutTimer.unref();
  }

  finish(status: 'succeeded' | 'failed' | 'canceled', error?: WorkflowError): boolean {
    if (!this.params.recorder.workflowFinished(status, error)) return false;
    this.suspendedRun = undefined;
    if (this.timeoutTimer !== undefined) clearTimeout(this.timeoutTimer);
    this.error = error;
    // Stop whatever is still in flight (sibling branches, a spinning code node, an LLM stream).
    if (status !== 'succeeded') {
      this.abortReason = new FlowgramError(error?.code === ErrorCodes.TASK_CANCELLED ? ErrorCodes.TASK_CANCELLED : ErrorCodes.NODE_FAILED, error?.message ?? status);
      this.abortController?.abort(this.abortReason);
    }
    this.settle();
    this.settle = NOOP; // finished tasks stay in memory a while: let the resolver go
    this.params.onEnded?.(this);
    return true;
  }

  countExecution(): boolean {
    return ++this.executions <= this.maxExecutions;
  }

  get maxNodeExecutions(): number {
    return this.maxExecutions;
  }

  setOutputs(outputs: WorkflowOutputs): void {
    this.params.recorder.outputs = outputs;
  }
}

interface ParentLink {
  readonly node: DocumentNode;
  readonly snapshot: Snapshot;
  readonly run: GraphRun;
}

/**
 * Runs one graph (the workflow, or one iteration of a loop body) by dead-path elimination: a node
 * starts once every incoming edge is resolved and at least one is live; a node whose incoming edges
 * are all dead is skipped and kills its own outgoing edges, so joins after a condition still fire.
 */
class GraphRun {
  /**
   * Per node: 2 × (incoming edges not yet resolved) + 1 once one of them was live. One plain array (a loop
   * body builds a GraphRun per iteration, and typed arrays cost far more to allocate).
   */
  private readonly pending: number[];
  /** Nodes ready to launch; each node is queued at most once per run, so it never outgrows the graph. */
  private readonly queue: DocumentNode[];
  private head = 0;
  private tail = 0;
  private running = 0;
  private pumping = false;
  private settled = false;
  private failure: unknown = undefined;
  control: BlockControl = 'next';
  /**
   * The latest time this run read, reused as the start time of the next node it launches in the same
   * synchronous stretch (at most one node's bookkeeping old). Reading the clock costs ~0.1 µs in VMs.
   */
  clock: number | undefined = undefined;
  /** The clock a synchronously finished block run left, for the next iteration's run. */
  private blockClock: number | undefined = undefined;
  /** Nodes waiting for a signal (`wait` nodes of the workflow's top level); created on first use. */
  private waits: Map<string, WaitingNode> | undefined;
  // Set only when the run outlives `start()` (an async node); most loop bodies finish synchronously.
  private resolve: (() => void) | undefined;
  private reject: ((error: unknown) => void) | undefined;

  constructor(
    private readonly execution: WorkflowExecution,
    private readonly graph: BlockGraph,
    readonly scope: VariableScope,
    readonly parent: ParentLink | undefined,
    /** Only the workflow's own run resumes from a checkpoint; loop bodies run each iteration whole. */
    readonly checkpoint: TaskCheckpoint | undefined = undefined,
  ) {
    const count = graph.nodes.length;
    this.pending = new Array<number>(count);
    this.queue = new Array<DocumentNode>(count);
    for (let i = 0; i < count; i++) this.pending[i] = graph.nodes[i].inDegree * 2;
  }

  /** Runs the graph; true when it already finished (successfully) before returning. */
  run(): boolean {
    const entry = this.graph.entry;
    if (!entry) {
      this.settle(new Error('graph has no entry node'));
    } else {
      this.queue[this.tail++] = entry;
      this.pump();
    }
    return this.settled && this.failure === undefined;
  }

  /** Settles when the run has finished; call after `run()`. */
  finished(): Promise<void> {
    if (this.settled) return this.failure === undefined ? RESOLVED : Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  private settle(error?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.failure = error;
    if (error === undefined) this.resolve?.();
    else this.reject?.(error);
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const execution = this.execution;
    // At least one node per call, so a run resumed after yielding always makes progress.
    let launched = false;
    while (this.head < this.tail) {
      if (execution.ended) break;
      if (launched && execution.executions > NODES_BEFORE_YIELDING) {
        // The clock the last node's end left (no extra reading): past the task's deadline? (The slice keeps its own, finer clock.)
        const now = this.clock ?? Date.now();
        this.clock = now;
        if (now >= execution.deadline) {
          execution.timeOut();
          break;
        }
        if ((execution.executions & (NODES_PER_SLICE_CHECK - 1)) === 0 && sliceOver()) {
          this.pumping = false;
          this.clock = undefined;
          resumeLater(() => this.pump());
          return;
        }
      }
      this.launch(this.queue[this.head++]);
      launched = true;
    }
    this.pumping = false;
    if (this.execution.ended) {
      this.settle(new FlowgramError(ErrorCodes.NODE_FAILED, 'workflow ended'));
    } else if (this.running === 0 && this.head >= this.tail) {
      if (this.waits !== undefined && this.waits.size > 0) this.execution.suspend(this);
      else this.settle();
    }
  }

  private launch(node: DocumentNode): void {
    if (this.checkpoint) {
      const done = this.checkpoint.nodes.get(node.id);
      const only = this.checkpoint.only;
      if (only && only.nodeID !== node.id) return this.passOn(node, done);
      if (done && !only) return this.skipDone(node, done);
      if (this.checkpoint.waits?.has(node.id)) {
        // A node the earlier run left waiting: answer it, or wait on it again, without running it anew.
        const waiting = this.execution.params.recorder.waitingSnapshot(node.id);
        if (waiting) return this.rejoinWait(node, waiting, this.checkpoint.waits.get(node.id));
      }
    }
    const { recorder, executors } = this.execution.params;
    const policy = node.policy;
    const snapshot = recorder.nodeStarted(node, this.clock ?? Date.now(), policy?.retry === undefined ? undefined : 1);
    if (this.checkpoint) {
      const iterations = this.checkpoint.iterations.get(node.id);
      if (iterations) recorder.iterationsRestored(snapshot, iterations);
    }
    this.clock = undefined;
    if (!this.execution.countExecution()) {
      this.fail(node, snapshot, limitExceeded('maxNodeExecutions', `the task ran more than ${this.execution.maxNodeExecutions} nodes`, node.id));
      return;
    }
    let result: Promise<ExecutionResult> | ExecutionResult;
    try {
      const inputs = this.checkpoint?.only?.inputs ?? resolveNodeInputs(node, this.scope);
      const recorded = this.recordInputs(node, snapshot, inputs);
      const executor = executors.get(node.type);
      if (!executor) {
        throw new FlowgramError(ErrorCodes.UNKNOWN_NODE_TYPE, `node "${node.id}" has unknown type "${node.type}" (no executor registered)`);
      }
      // Secrets (e.g. an LLM API key) are used by the executor but never recorded in reports.
      const secrets = executor.secretInputs;
      if (secrets) {
        for (let i = 0; i < secrets.length; i++) {
          if (!(secrets[i] in recorded)) continue;
          recorder.addSecret(inputs[secrets[i]]);
          recorded[secrets[i]] = REDACTED;
        }
      }
      if (policy !== undefined) return this.launchWithPolicy(node, policy, snapshot, executor, inputs);
      result = executor.execute(new NodeContext(this.execution, this, node, snapshot, inputs));
    } catch (error) {
      this.fail(node, snapshot, error);
      return;
    }
    if (result instanceof Promise) {
      this.execution.armTimeout();
      this.running++;
      result.then(
        (value) => {
          this.running--;
          this.complete(node, snapshot, value);
          this.pump();
        },
        (error: unknown) => {
          this.running--;
          this.fail(node, snapshot, error);
          this.pump();
        },
      );
    } else {
      this.complete(node, snapshot, result);
    }
  }

  /**
   * Records a node's outputs and goes on along its edges. `handledError`: the node failed and its
   * `onError` policy goes on with these outputs (its status stays failed).
   */
  private complete(node: DocumentNode, snapshot: Snapshot, result: ExecutionResult, handledError?: string): void {
    if (this.execution.ended) return;
    if (!isExecutionResult(result)) {
      this.fail(node, snapshot, new Error(`node "${node.id}" executor returned no outputs object`));
      return;
    }
    if (result.waitForSignal !== undefined) return this.waitHere(node, snapshot, result.waitForSignal);
    const { outputs, branch } = result;
    const terminating = TERMINATING_TYPES.has(node.type);
    if (!terminating) {
      if (node.out.length === 0) {
        this.fail(node, snapshot, new Error(`node "${node.id}" has no next nodes`));
        return;
      }
      if (branch !== undefined && !node.ports.includes(branch)) {
        this.fail(node, snapshot, new Error(`branch "${branch}" of node "${node.id}" is not connected`));
        return;
      }
    }
    const { recorder, limits } = this.execution.params;
    let recorded: WorkflowOutputs;
    try {
      recorded = this.recordable(node, outputs, 'outputs');
    } catch (error) {
      this.fail(node, snapshot, error);
      return;
    }
    const bytes = this.execution.budget.bytes;
    if (recorder.keptBytes + bytes > limits.maxReportBytes) {
      this.fail(node, snapshot, this.reportFull(node));
      return;
    }
    storeNodeOutputs(node, outputs, this.scope);
    if (node === this.execution.params.document.end) this.execution.setOutputs(outputs);
    if (result.control) this.control = result.control;
    this.clock = handledError === undefined
      ? recorder.nodeSucceeded(node, snapshot, recorded, bytes, branch)
      : recorder.nodeErrorHandled(node, snapshot, handledError, recorded, bytes, branch);
    if (this.checkpoint?.only) return; // runNode: nothing after the node runs
    // A node with an error port takes it only when it fails.
    if (branch === undefined && node.policy?.onError === 'branch') this.followAllBut(node, ERROR_PORT);
    else this.follow(node, terminating, branch);
  }

  private followAllBut(node: DocumentNode, port: string): void {
    for (const edge of node.out) this.resolveEdge(edge.target, edge.port !== port);
  }

  /**
   * Runs a node with policies: attempts (each with its own snapshot and, with `timeoutMs`, its own
   * timer and AbortSignal) until one succeeds or `retry.maxAttempts` have failed, then `onError`.
   */
  private launchWithPolicy(node: DocumentNode, policy: NodePolicy, first: Snapshot, executor: NodeExecutor, inputs: WorkflowInputs): void {
    this.execution.armTimeout();
    this.running++;
    this.attempts(node, policy, first, executor, inputs).then(
      () => {
        this.running--;
        this.pump();
      },
      (error: unknown) => {
        this.running--;
        this.fail(node, first, error);
        this.pump();
      },
    );
  }

  private async attempts(node: DocumentNode, policy: NodePolicy, first: Snapshot, executor: NodeExecutor, inputs: WorkflowInputs): Promise<void> {
    const { recorder } = this.execution.params;
    const maxAttempts = policy.retry?.maxAttempts ?? 1;
    let snapshot = first;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(node, snapshot, executor, inputs, policy.timeoutMs);
      if (this.execution.ended) return;
      if (outcome.error === undefined && isExecutionResult(outcome.value)) return this.complete(node, snapshot, outcome.value);
      const error = outcome.error ?? new Error(`node "${node.id}" executor returned no outputs object`);
      if (attempt >= maxAttempts || policy.retry === undefined) return this.handleFailure(node, snapshot, error, policy);
      const delay = retryDelayMs(policy.retry, attempt);
      recorder.attemptFailed(node, snapshot, errorMessage(error), delay);
      // A cancel (or a failure elsewhere) ends the wait at once; the task has ended then.
      await sleep(delay, this.execution.controller.signal).catch(() => undefined);
      if (this.execution.ended) return;
      snapshot = recorder.nodeStarted(node, Date.now(), attempt + 1);
      try {
        this.recordInputs(node, snapshot, inputs);
      } catch (limit) {
        return this.fail(node, snapshot, limit);
      }
    }
  }

  /** One attempt; never rejects. With a timeout, the executor gets a signal that fires at the timeout or when the task ends. */
  private attempt(node: DocumentNode, snapshot: Snapshot, executor: NodeExecutor, inputs: WorkflowInputs, timeoutMs: number | undefined): Promise<AttemptOutcome> {
    return new Promise<AttemptOutcome>((resolve) => {
      let signal: AbortSignal | undefined;
      let release = NOOP;
      if (timeoutMs !== undefined) {
        const controller = new AbortController();
        const taskSignal = this.execution.controller.signal;
        const onTaskEnded = (): void => controller.abort(taskSignal.reason);
        if (taskSignal.aborted) onTaskEnded();
        else taskSignal.addEventListener('abort', onTaskEnded, { once: true });
        const timer = setTimeout(() => {
          const error = new FlowgramError(ErrorCodes.NODE_TIMEOUT, `node "${node.id}" timed out after ${timeoutMs} ms`, { nodeID: node.id });
          controller.abort(error);
          resolve({ error });
        }, timeoutMs);
        release = () => {
          clearTimeout(timer);
          taskSignal.removeEventListener('abort', onTaskEnded);
        };
        signal = controller.signal;
      }
      const settle = (outcome: AttemptOutcome): void => {
        release();
        resolve(outcome); // after a timeout, a late outcome is ignored
      };
      try {
        const result = executor.execute(new NodeContext(this.execution, this, node, snapshot, inputs, signal));
        if (result instanceof Promise) result.then((value) => settle({ value }), (error: unknown) => settle({ error }));
        else settle({ value: result });
      } catch (error) {
        settle({ error });
      }
    });
  }

  /** A node failed for good: its `onError` policy decides whether the workflow fails or goes on. */
  private handleFailure(node: DocumentNode, snapshot: Snapshot, error: unknown, policy: NodePolicy): void {
    if (policy.onError === 'fail') return this.fail(node, snapshot, error);
    const message = errorMessage(error);
    if (policy.onError === 'continue') return this.complete(node, snapshot, { outputs: { ...policy.defaults } }, message);
    const code = error instanceof FlowgramError ? error.code : ErrorCodes.NODE_FAILED;
    this.complete(node, snapshot, { outputs: { error: { code, message } }, branch: ERROR_PORT }, message);
  }

  /** A node asked to wait for a signal (`waitForSignal`): it stays running, and the task waits once nothing else runs. */
  private waitHere(node: DocumentNode, snapshot: Snapshot, spec: { timeoutMs?: number }): void {
    if (this.parent || this.checkpoint?.only) {
      const where = this.parent ? 'inside a loop' : 'alone (run the workflow and signal it)';
      this.fail(node, snapshot, new FlowgramError(ErrorCodes.BAD_REQUEST, `node "${node.id}" waits for a signal and cannot run ${where}`));
      return;
    }
    const deadline = spec.timeoutMs === undefined ? undefined : Date.now() + spec.timeoutMs;
    this.execution.params.recorder.nodeWaiting(snapshot, deadline);
    (this.waits ??= new Map()).set(node.id, { node, snapshot, deadline });
  }

  /** A node an earlier run of the task left waiting (continued from its checkpoints): answered now, or waiting again. */
  private rejoinWait(node: DocumentNode, snapshot: Snapshot, answer: WaitAnswer | undefined): void {
    const deadline = snapshot.extra?.deadline;
    (this.waits ??= new Map()).set(node.id, { node, snapshot, deadline });
    if (answer !== undefined) this.applyAnswer(node.id, answer);
  }

  waitsFor(nodeID: string): boolean {
    return this.waits?.has(nodeID) === true;
  }

  waitingNodes(): Array<{ nodeID: string; deadline: number | undefined }> {
    return [...(this.waits?.values() ?? [])].map((wait) => ({ nodeID: wait.node.id, deadline: wait.deadline }));
  }

  /** Answers a waiting node and runs on (see `WorkflowExecution.answer`). */
  answer(nodeID: string, answer: WaitAnswer): void {
    this.applyAnswer(nodeID, answer);
    this.pump();
  }

  private applyAnswer(nodeID: string, answer: WaitAnswer): void {
    const wait = this.waits?.get(nodeID);
    if (!wait) return;
    this.waits?.delete(nodeID);
    if ('outputs' in answer) this.complete(wait.node, wait.snapshot, { outputs: answer.outputs });
    else this.handleFailure(wait.node, wait.snapshot, answer.error, wait.node.policy ?? FAIL_POLICY);
  }

  /** A node an earlier run of the task finished: its outputs and branch as then, its report snapshot kept. */
  private skipDone(node: DocumentNode, done: NodeCheckpoint): void {
    storeNodeOutputs(node, done.outputs, this.scope);
    if (node === this.execution.params.document.end) this.execution.setOutputs(done.outputs);
    this.follow(node, TERMINATING_TYPES.has(node.type), done.branch);
  }

  /** runNode: a node other than the one to run lets the scheduler through on every edge, with its earlier outputs if any. */
  private passOn(node: DocumentNode, done: NodeCheckpoint | undefined): void {
    if (done) storeNodeOutputs(node, done.outputs, this.scope);
    this.follow(node, false, undefined);
  }

  private follow(node: DocumentNode, terminating: boolean, branch: string | undefined): void {
    for (const edge of node.out) {
      this.resolveEdge(edge.target, !terminating && (branch === undefined || edge.port === branch));
    }
  }

  /** Records a copy of a node's inputs in its snapshot; throws when a limit does not allow it. */
  recordInputs(node: DocumentNode, snapshot: Snapshot, inputs: WorkflowInputs): WorkflowInputs {
    const recorded = this.recordable(node, inputs, 'inputs');
    const { recorder, limits } = this.execution.params;
    if (!recorder.recordInputs(snapshot, recorded, this.execution.budget.bytes, limits.maxReportBytes)) throw this.reportFull(node);
    return recorded;
  }

  /** A copy of a node's inputs or outputs for its snapshot, within `maxValueBytes` and `maxJsonDepth`. */
  private recordable(node: DocumentNode, values: Record<string, unknown>, what: 'inputs' | 'outputs'): Record<string, unknown> {
    const { budget } = this.execution;
    const copy = copyRecordWithin(values, budget);
    if (copy !== undefined) return copy;
    const detail =
      budget.exceeded === 'maxJsonDepth'
        ? `the ${what} of node "${node.id}" nest deeper than ${budget.maxDepth} levels`
        : `the ${what} of node "${node.id}" are larger than ${budget.maxBytes} characters of JSON`;
    throw limitExceeded(budget.exceeded ?? 'maxValueBytes', detail, node.id);
  }

  private reportFull(node: DocumentNode): FlowgramError {
    const max = this.execution.params.limits.maxReportBytes;
    return limitExceeded('maxReportBytes', `the task's report would hold more than ${max} characters of inputs and outputs (at node "${node.id}")`, node.id);
  }

  private resolveEdge(target: DocumentNode, live: boolean): void {
    const i = target.index;
    const state = (this.pending[i] - 2) | (live ? 1 : 0);
    this.pending[i] = state;
    if (state > 1) return;
    if (state === 1) {
      this.queue[this.tail++] = target;
      return;
    }
    // Every way into the target is dead: skip it, and everything only it leads to.
    for (const edge of target.out) this.resolveEdge(edge.target, false);
  }

  fail(node: DocumentNode, snapshot: Snapshot, error: unknown): void {
    if (this.execution.ended) return;
    const { recorder } = this.execution.params;
    const message = errorMessage(error);
    recorder.nodeFailed(node, snapshot, message);
    for (let link = this.parent; link; link = link.run.parent) {
      recorder.nodeFailed(link.node, link.snapshot, `block node "${node.id}" failed: ${message}`);
    }
    const code = error instanceof FlowgramError ? error.code : ErrorCodes.NODE_FAILED;
    this.execution.finish('failed', { code, message: `node "${node.id}" failed: ${message}`, nodeID: node.id });
  }

  runBlock(link: ParentLink, locals: Record<string, ResolvedValue>): Promise<BlockRun> {
    const owner = link.node;
    if (!owner.block) return Promise.reject(new Error(`node "${owner.id}" has no blocks to run`));
    const scope = this.scope.child();
    scope.setLocals(owner.localsID, locals);
    const run = new GraphRun(this.execution, owner.block, scope, link);
    // The previous iteration ended an instant ago; its last clock reading starts this one.
    run.clock = this.blockClock;
    this.blockClock = undefined;
    // A body that finished synchronously skips the promise chain (thousands of iterations add up).
    if (run.run()) {
      this.blockClock = run.clock;
      return Promise.resolve({ control: run.control, values: scope });
    }
    return run.finished().then(() => ({ control: run.control, values: scope }));
  }
}

/** The context handed to an executor; cheap to create, one per node execution. */
class NodeContext implements ExecutionContext {
  private logger: NodeLogger | undefined;
  private link: ParentLink | undefined;

  constructor(
    private readonly execution: WorkflowExecution,
    private readonly run: GraphRun,
    readonly node: DocumentNode,
    private readonly snapshot: Snapshot,
    readonly inputs: WorkflowInputs,
    /** Set for an attempt of a node with `timeoutMs`: fires at its timeout or when the task ends. */
    private readonly attemptSignal?: AbortSignal,
  ) {}

  get taskID(): string {
    return this.execution.params.taskID;
  }

  get signal(): AbortSignal {
    return this.attemptSignal ?? this.execution.controller.signal;
  }

  get limits(): RuntimeLimits {
    return this.execution.params.limits;
  }

  get network(): NetworkPolicy {
    return this.execution.params.network;
  }

  get values(): VariableScope {
    return this.run.scope;
  }

  get workflowInputs(): WorkflowInputs {
    return this.execution.params.inputs;
  }

  get log(): NodeLogger {
    if (!this.logger) {
      const { recorder } = this.execution.params;
      const nodeID = this.node.id;
      this.logger = {
        log: (message) => recorder.message('log', message, nodeID, this.snapshot),
        info: (message) => recorder.message('info', message, nodeID, this.snapshot),
        debug: (message) => recorder.message('debug', message, nodeID, this.snapshot),
        warn: (message) => recorder.message('warning', message, nodeID, this.snapshot),
        error: (message) => recorder.message('error', message, nodeID, this.snapshot),
      };
    }
    return this.logger;
  }

  progress(data: Record<string, unknown>): void {
    if (this.execution.ended) return;
    this.execution.params.recorder.nodeProgress(this.node.id, this.snapshot, data);
  }

  recordInputs(inputs: WorkflowInputs): void {
    if (this.execution.ended) return;
    this.run.recordInputs(this.node, this.snapshot, inputs);
  }

  markSecret(value: unknown): void {
    this.execution.params.recorder.addSecret(value);
  }

  get finishedIterations(): readonly IterationCheckpoint[] {
    return this.run.checkpoint?.iterations.get(this.node.id) ?? NO_ITERATIONS;
  }

  iterationFinished(iteration: IterationCheckpoint): void {
    // Only top-level loops resume mid-way (see TaskCheckpoint); a nested loop's iterations are no checkpoints.
    if (this.run.parent || this.execution.ended) return;
    this.execution.params.recorder.iterationFinished(this.snapshot, iteration);
  }

  runBlock(locals: Record<string, ResolvedValue>): Promise<BlockRun> {
    // One link per node execution, shared by all its iterations.
    this.link ??= { node: this.node, snapshot: this.snapshot, run: this.run };
    return this.run.runBlock(this.link, locals);
  }
}

function isExecutionResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && typeof (result as ExecutionResult).outputs === 'object' && (result as ExecutionResult).outputs !== null;
}
