/**
 * The one place where errors become HTTP answers: a FlowgramError code decides the status, anything
 * Fastify raised (bad JSON, wrong content type, oversized body) keeps its 4xx status, everything else
 * is a 500. The body is always `{ code, message }`: the shape the flowgram.ai editor's client checks.
 */
import { ErrorCodes, FlowgramError, errorMessage, type ErrorCode } from '../errors.js';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: string[];
  /** The node the error belongs to (e.g. the one a failed task failed at). */
  nodeID?: string;
}

export interface HttpError {
  status: number;
  body: ErrorBody;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.SCHEMA_PARSE]: 400,
  [ErrorCodes.SCHEMA_INVALID]: 400,
  [ErrorCodes.INPUTS_INVALID]: 400,
  [ErrorCodes.UNKNOWN_NODE_TYPE]: 400,
  [ErrorCodes.UNSUPPORTED_VALUE]: 400,
  [ErrorCodes.BAD_REQUEST]: 400,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.NETWORK_POLICY]: 403,
  [ErrorCodes.TASK_NOT_FOUND]: 404,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.SECRET_UNKNOWN]: 404,
  // The editor's client treats any `{ code }` body as "no result yet", as upstream's empty answer.
  [ErrorCodes.TASK_NOT_FINISHED]: 409,
  [ErrorCodes.TASK_CONFLICT]: 409,
  // There is no result: the task ended without one (the body says why).
  [ErrorCodes.TASK_FAILED]: 409,
  [ErrorCodes.TASK_CANCELLED]: 409,
  [ErrorCodes.LIMIT_EXCEEDED]: 429,
  [ErrorCodes.SHUTTING_DOWN]: 503,
  [ErrorCodes.STORE_UNAVAILABLE]: 503,
  [ErrorCodes.WAIT_TIMEOUT]: 504,
};

/** The HTTP status for an error code. */
export function httpStatusFor(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/** Fastify's own errors carry a 4xx `statusCode` and an `FST_ERR_*` code. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/** What Fastify's body errors are about, named as the field a client got wrong. */
function fastifyMessage(error: FastifyLikeError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `content-type: ${error.message ?? 'unsupported media type'}; send application/json`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `body: ${error.message ?? 'too large'}`;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body: must not be empty when content-type is application/json';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return `content-length: ${error.message ?? 'invalid'}`;
    default:
      return `body: ${error.message ?? 'invalid request'}`;
  }
}

/** Limits a request hits because of load (it may be retried: 429); any other limit is about what the request holds (400). */
const LOAD_LIMITS: ReadonlySet<string> = new Set(['maxQueuedTasks']);

/** The HTTP status for an error, REST and tRPC alike: a limit on what the request holds is its fault (400), not load (429). */
export function httpStatusOf(error: FlowgramError): number {
  const contentLimit = error.code === ErrorCodes.LIMIT_EXCEEDED && error.limit !== undefined && !LOAD_LIMITS.has(error.limit);
  return contentLimit ? 400 : httpStatusFor(error.code);
}

/** Turns anything thrown while handling a request into a status and a `{ code, message }` body. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof FlowgramError) {
    const body: ErrorBody = { code: error.code, message: error.message };
    if (error.details) body.details = error.details;
    if (error.nodeID) body.nodeID = error.nodeID;
    return { status: httpStatusOf(error), body };
  }
  const fastifyError = error as FastifyLikeError | null;
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = status === 413 ? ErrorCodes.LIMIT_EXCEEDED : ErrorCodes.BAD_REQUEST;
    return { status, body: { code, message: fastifyMessage(fastifyError as FastifyLikeError) } };
  }
  return { status: 500, body: { code: ErrorCodes.INTERNAL, message: `internal error: ${errorMessage(error)}` } };
}

/** Shorthand for the request errors the routes raise themselves. */
export function badRequest(message: string): FlowgramError {
  return new FlowgramError(ErrorCodes.BAD_REQUEST, message);
}

/**
 * What asking for the result of a task that ended without succeeding answers: FLOWGRAM_ERR_TASK_CANCELLED
 * or FLOWGRAM_ERR_TASK_FAILED, naming the failing node and its message.
 */
export function noResult(taskID: string, status: string, error: { message: string; nodeID?: string } | undefined): FlowgramError {
  const why = error?.message ?? `it ended with status ${status}`;
  if (status === 'canceled') return new FlowgramError(ErrorCodes.TASK_CANCELLED, `taskID: task "${taskID}" was cancelled: ${why}`);
  const at = error?.nodeID ? ` at node "${error.nodeID}"` : '';
  return new FlowgramError(ErrorCodes.TASK_FAILED, `taskID: task "${taskID}" failed${at}: ${why}`, error?.nodeID ? { nodeID: error.nodeID } : {});
}

export function taskNotFound(taskID: string): FlowgramError {
  return new FlowgramError(ErrorCodes.TASK_NOT_FOUND, `taskID: no such task "${taskID}"`);
}
