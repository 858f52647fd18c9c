import type { TaskLimits } from '../limits.js';
import type { DocumentNode } from '../schema/document.js';
import type { IFlowValue, VariableType, WorkflowInputs, WorkflowOutputs } from '../schema/types.js';

/** What a node executor returns. */
export interface ExecutionResult {
  outputs: WorkflowOutputs;
  /** Output port to continue from (condition nodes); all ports when absent. */
  branch?: string;
  /** Loop control: ends the current iteration (`continue`) or the whole loop (`break`). */
  control?: 'break' | 'continue';
  /**
   * Pause here until the task is signalled for this node (`runtime.signal`), whose data become its
   * outputs (the `wait` node); `outputs` are ignored. Only nodes of the workflow's top level may wait.
   */
  waitForSignal?: { timeoutMs?: number };
}

/** A value resolved from a constant, ref or template, with the type the runtime tracks for it. */
export interface ResolvedValue<T = unknown> {
  value: T;
  type: VariableType;
  itemsType?: VariableType;
}

/** Resolves flow values against the variables visible to the running node. */
export interface ValueResolver {
  /** Resolves a constant, ref or template; null when the value is missing. */
  resolve(value: IFlowValue | undefined, declaredType?: VariableType): ResolvedValue | null;
  /** Resolves `[nodeID, key, ...path]`; null when the variable does not exist. */
  resolveRef(path: readonly string[] | undefined): ResolvedValue | null;
  /** Renders `{{node.key.path}}` placeholders; missing values render as ''. */
  renderTemplate(template: string): string;
}

/** How one run of a loop's block ended: on to the next item, skipped (`continue`), or the loop's end (`break`). */
export type BlockControl = 'next' | 'break' | 'continue';

/** A finished iteration of a loop, as its checkpoint records it: what it added to the loop's outputs. */
export interface IterationCheckpoint {
  index: number;
  control: BlockControl;
  /** This iteration's value of each collected output (empty unless `control` is `next`). */
  outputs: WorkflowOutputs;
}

/** The outcome of one run of a loop's block. */
export interface BlockRun {
  control: BlockControl;
  /** Resolves refs inside the iteration's scope (its node outputs and locals). */
  values: ValueResolver;
}

export type MessageLevel = 'log' | 'info' | 'debug' | 'error' | 'warning';

export interface NodeLogger {
  log(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Everything a node executor gets. Executors never see the engine, the store or the server. */
export interface ExecutionContext {
  readonly taskID: string;
  readonly node: DocumentNode;
  /** The node's inputs, resolved from `data.inputsValues` against `data.inputs`. */
  readonly inputs: WorkflowInputs;
  /** Aborted when the task is cancelled or fails elsewhere; pass it on to I/O. */
  readonly signal: AbortSignal;
  readonly limits: RuntimeLimits;
  readonly network: NetworkPolicy;
  readonly values: ValueResolver;
  /** The task's inputs (the start node outputs them). */
  readonly workflowInputs: WorkflowInputs;
  readonly log: NodeLogger;
  /** Merges live data into the node's snapshot (e.g. streamed LLM text); visible in reports mid-run. */
  progress(data: Record<string, unknown>): void;
  /**
   * Replaces what the node's snapshot shows as its inputs (e.g. the request an HTTP node resolved), so a
   * run panel shows what was really used. The executor masks what must not be shown before passing it.
   */
  recordInputs(inputs: WorkflowInputs): void;
  /**
   * Marks a value the node uses as a credential (e.g. an HTTP header named Authorization, whatever it
   * was computed from): it is masked wherever it appears from now on, e.g. echoed back in the outputs.
   */
  markSecret(value: unknown): void;
  /** Runs the node's `blocks` sub-graph once with the given loop locals. Only for nodes with blocks. */
  runBlock(locals: Record<string, ResolvedValue>): Promise<BlockRun>;
  /**
   * Iterations of this loop that finished in an earlier run of the task (resumed from checkpoints),
   * from index 0 in order: the loop continues after them instead of running them again. Usually empty.
   */
  readonly finishedIterations: readonly IterationCheckpoint[];
  /** Records a finished iteration as a checkpoint (a loop calls it after each run of its block). */
  iterationFinished(iteration: IterationCheckpoint): void;
}

/** A node type's behaviour. Plain objects `{ type, execute }` and class instances both work. */
export interface NodeExecutor {
  readonly type: string;
  execute(context: ExecutionContext): Promise<ExecutionResult> | ExecutionResult;
  /** Inputs the executor needs but reports must not show (masked in snapshots), e.g. `apiKey`. */
  readonly secretInputs?: readonly string[];
  /** Releases resources (worker pools, sockets) when the runtime closes. */
  close?(): Promise<void> | void;
}

export interface CodeLimits {
  /** Wall time per execution (ms). Default 60,000 like upstream. */
  timeoutMs?: number;
  /** Heap of the sandbox (bytes). Default 32 MiB. */
  memoryBytes?: number;
  /** Stack of the sandbox (bytes). Default 1 MiB. */
  stackBytes?: number;
  /** Serialized size of the returned outputs (bytes). Default 1 MiB. */
  outputBytes?: number;
  /** Total size of captured console output per execution (bytes). Default 64 KiB. */
  consoleBytes?: number;
  /** Worker threads running scripts. Default: number of CPUs, at least 1. */
  workers?: number;
}

export interface HttpLimits {
  /** Timeout of each attempt, body included (ms), when the node sets none. Default 60,000. */
  timeoutMs?: number;
  /** Largest response body accepted (bytes). Default 10 MiB. */
  maxResponseBytes?: number;
  /** Base delay of the exponential backoff between retries (ms). Default 200. */
  retryBaseDelayMs?: number;
  /** Largest delay between two retries (ms). Default 10,000. */
  retryMaxDelayMs?: number;
}

export interface LlmLimits {
  /** Timeout of one completion request (ms). Default 120,000. */
  timeoutMs?: number;
  /** Retries on 429/5xx. Default 2. */
  maxRetries?: number;
  /** Base delay of the backoff between retries when the server sends no Retry-After (ms). Default 500. */
  retryBaseDelayMs?: number;
}

/** The task limits (see `TaskLimits` for each one's default) and the limits of the code, HTTP and LLM nodes. */
export interface RuntimeLimits extends Partial<TaskLimits> {
  code?: CodeLimits;
  http?: HttpLimits;
  llm?: LlmLimits;
}

/** Where HTTP and LLM nodes may connect. */
export interface NetworkPolicy {
  /** When non-empty, only these hosts (exact, or `*.example.com`) are reachable. */
  allowHosts?: string[];
  /** These hosts (exact, or `*.example.com`) are never reachable. */
  denyHosts?: string[];
  /** Refuse loopback, private, link-local and unique-local addresses (for servers running untrusted workflows). */
  denyPrivateNetworks?: boolean;
}

/** A task's status; `waiting` (for a signal to a `wait` node) is `processing` in the upstream report. */
export type WorkflowStatusName = 'pending' | 'processing' | 'waiting' | 'succeeded' | 'failed' | 'canceled';

/** What a running task emits; every consumer (report, store, SSE, CLI) reads these. */
export type TaskEvent =
  | { type: 'workflow_started'; taskID: string; time: number }
  /** `attempt`: which attempt of a node with a `retry` policy this run is. */
  | { type: 'node_started'; taskID: string; nodeID: string; nodeType: string; title: string; time: number; attempt?: number }
  | { type: 'node_progress'; taskID: string; nodeID: string; data: Record<string, unknown>; time: number }
  | {
      type: 'node_finished';
      taskID: string;
      nodeID: string;
      nodeType: string;
      title: string;
      status: 'succeeded' | 'failed' | 'canceled';
      time: number;
      timeCost: number;
      outputs?: WorkflowOutputs;
      branch?: string;
      error?: string;
      /** Which attempt of a node with a `retry` policy this was. */
      attempt?: number;
      /** This failed attempt is retried after this many ms. */
      retryInMs?: number;
      /** Failed, and its `onError` policy went on (its outputs are the defaults, or `{ error }` on the error port). */
      errorHandled?: true;
    }
  /** A `wait` node waits for a signal (until `deadline`, epoch ms, if it has a timeout). A checkpoint. */
  | { type: 'node_waiting'; taskID: string; nodeID: string; time: number; deadline?: number }
  /** Nothing runs: the task waits for signals to these nodes (its status is `waiting`). */
  | { type: 'workflow_waiting'; taskID: string; nodeIDs: string[]; time: number }
  | { type: 'message'; taskID: string; level: MessageLevel; message: string; nodeID?: string; snapshotID?: string; time: number }
  /** A checkpoint: an iteration of a loop of the workflow's top level finished (see `IterationCheckpoint`). */
  | { type: 'loop_iteration'; taskID: string; nodeID: string; index: number; control: BlockControl; outputs: WorkflowOutputs; time: number }
  | {
      type: 'workflow_finished';
      taskID: string;
      status: 'succeeded' | 'failed' | 'canceled';
      time: number;
      timeCost: number;
      outputs: WorkflowOutputs;
      error?: { code: string; message: string; nodeID?: string };
    };

export type TaskEventListener = (event: TaskEvent) => void;
