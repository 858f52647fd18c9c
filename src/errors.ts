/**
 * The one catalogue of errors. Every error a user can see carries a stable code; the server maps
 * codes to HTTP statuses and the CLI maps them to exit codes. Tests assert codes, not message text.
 */
export const ErrorCodes = {
  /** The schema is not valid JSON or not an object. */
  SCHEMA_PARSE: 'FLOWGRAM_ERR_SCHEMA_PARSE',
  /** The schema parsed but failed validation (shape, graph or inputs); `details` lists every issue. */
  SCHEMA_INVALID: 'FLOWGRAM_ERR_SCHEMA_INVALID',
  /** The task inputs do not match the start node's declared outputs. */
  INPUTS_INVALID: 'FLOWGRAM_ERR_INPUTS_INVALID',
  /** A node has a type no executor is registered for. */
  UNKNOWN_NODE_TYPE: 'FLOWGRAM_ERR_UNKNOWN_NODE_TYPE',
  /** A flow value of a kind the runtime does not evaluate (e.g. `expression`). */
  UNSUPPORTED_VALUE: 'FLOWGRAM_ERR_UNSUPPORTED_VALUE',
  /** A node's executor threw; the workflow failed. */
  NODE_FAILED: 'FLOWGRAM_ERR_NODE_FAILED',
  /** A node ran longer than its `timeoutMs` policy (per attempt); its AbortSignal fired. Also: a `wait` node that was not signalled in time. */
  NODE_TIMEOUT: 'FLOWGRAM_ERR_NODE_TIMEOUT',
  /** The task was cancelled before it finished (also: its result was asked for). */
  TASK_CANCELLED: 'FLOWGRAM_ERR_TASK_CANCELLED',
  /** The result of a task that failed was asked for; the message names the failing node and why. */
  TASK_FAILED: 'FLOWGRAM_ERR_TASK_FAILED',
  /** The runtime stopped (crash, kill) while the task was running; found and failed on restart. */
  TASK_INTERRUPTED: 'FLOWGRAM_ERR_TASK_INTERRUPTED',
  /** `task.wait({ timeoutMs })` gave up; the task keeps running. */
  WAIT_TIMEOUT: 'FLOWGRAM_ERR_WAIT_TIMEOUT',
  /** No route answers that method and path. */
  NOT_FOUND: 'FLOWGRAM_ERR_NOT_FOUND',
  /** No task with that ID is known (never existed, or pruned). */
  TASK_NOT_FOUND: 'FLOWGRAM_ERR_TASK_NOT_FOUND',
  /** The result was asked for before the task ended. */
  TASK_NOT_FINISHED: 'FLOWGRAM_ERR_TASK_NOT_FINISHED',
  /** The task's status does not allow it: resuming a task that is still running or that succeeded, signalling one that does not wait. */
  TASK_CONFLICT: 'FLOWGRAM_ERR_TASK_CONFLICT',
  /** A configured limit (time, memory, size, concurrency) was exceeded. */
  LIMIT_EXCEEDED: 'FLOWGRAM_ERR_LIMIT_EXCEEDED',
  /** A request to the server or CLI was malformed (missing field, wrong type, bad JSON). */
  BAD_REQUEST: 'FLOWGRAM_ERR_BAD_REQUEST',
  /** The server requires a bearer token and none or a wrong one was given. */
  UNAUTHORIZED: 'FLOWGRAM_ERR_UNAUTHORIZED',
  /** The request came from a web origin, or named a Host, the server does not answer (CORS, DNS rebinding). */
  FORBIDDEN: 'FLOWGRAM_ERR_FORBIDDEN',
  /** The runtime is shutting down or closed and accepts no new tasks. */
  SHUTTING_DOWN: 'FLOWGRAM_ERR_SHUTTING_DOWN',
  /** The store's database is damaged (fails its integrity check); the runtime refuses to use it. */
  STORE_CORRUPT: 'FLOWGRAM_ERR_STORE_CORRUPT',
  /** The store cannot be opened or cannot write at all: new tasks are refused (503) rather than lost. */
  STORE_UNAVAILABLE: 'FLOWGRAM_ERR_STORE_UNAVAILABLE',
  /** This one task could not be serialized or written; it is stored as failed with this code, others are unaffected. */
  STORE_WRITE_FAILED: 'FLOWGRAM_ERR_STORE_WRITE_FAILED',
  /** An outbound request was refused by the runtime's network policy. */
  NETWORK_POLICY: 'FLOWGRAM_ERR_NETWORK_POLICY',
  /** A workflow references a secret no provider holds, or a managed secret that does not exist. */
  SECRET_UNKNOWN: 'FLOWGRAM_ERR_SECRET_UNKNOWN',
  /** The secret key is malformed or cannot decrypt the secrets stored in the database. */
  SECRET_KEY: 'FLOWGRAM_ERR_SECRET_KEY',
  /** Anything else: a bug, reported as 500. */
  INTERNAL: 'FLOWGRAM_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface FlowgramErrorOptions {
  /** Every individual problem, e.g. all validation errors at once. */
  details?: string[];
  /** The node the error belongs to, when there is one. */
  nodeID?: string;
  /** The limit that was exceeded (FLOWGRAM_ERR_LIMIT_EXCEEDED), e.g. `maxJsonDepth`. */
  limit?: string;
  cause?: unknown;
}

export class FlowgramError extends Error {
  readonly code: ErrorCode;
  readonly details?: string[];
  readonly nodeID?: string;
  readonly limit?: string;

  constructor(code: ErrorCode, message: string, options: FlowgramErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlowgramError';
    this.code = code;
    if (options.details) this.details = options.details;
    if (options.nodeID) this.nodeID = options.nodeID;
    if (options.limit) this.limit = options.limit;
  }

  toJSON(): { code: ErrorCode; message: string; details?: string[] } {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isFlowgramError(value: unknown): value is FlowgramError {
  return value instanceof FlowgramError;
}

/** The message of anything thrown, without assuming it is an Error. */
export function errorMessage(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
