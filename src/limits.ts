/**
 * The runtime's limits in one model: every size, count and wait a task or a request can grow is named
 * here with its default. Each is checked before the thing it bounds is built, and exceeding one fails
 * that task (or refuses that request) with FLOWGRAM_ERR_LIMIT_EXCEEDED naming the limit and the node.
 * Code, HTTP and LLM nodes have limits of their own (`limits.code`, `limits.http`, `limits.llm`).
 */
import { ErrorCodes, FlowgramError } from './errors.js';

export interface TaskLimits {
  /** Node executions per task before it fails; guards against runaway loops. Default 1,000,000. */
  maxNodeExecutions: number;
  /** Wall time a task may run, waits included (ms); it then fails. Default 3,600,000 (1 hour). */
  taskTimeoutMs: number;
  /**
   * Largest value one node builds or hands on (JSON text, in characters): a rendered template, a node's
   * resolved inputs, a node's outputs. Default 16 MiB.
   */
  maxValueBytes: number;
  /** Inputs and outputs kept in one task's report, all snapshots together (JSON characters). Default 64 MiB. */
  maxReportBytes: number;
  /** Snapshots kept per node: a node that runs more often keeps its first and last halves and a count. Default 100. */
  maxSnapshotsPerNode: number;
  /** Messages kept per task in its report (later ones are counted, not kept). Default 1,000. */
  maxMessages: number;
  /** Events a task sends to listeners (streams, the store's journal); later node events are counted, not sent. Default 10,000. */
  maxEvents: number;
  /** Nesting of task inputs, workflow schemas, request bodies and node values. Default 128. */
  maxJsonDepth: number;
  /** Size of a workflow schema (JSON characters). Default 16 MiB. */
  maxSchemaBytes: number;
  /** Properties, at every depth, in the start node's declaration of the task inputs. Default 1,000. */
  maxDeclarationProperties: number;
  /**
   * Distinct secret values one task masks (secrets it references, secret inputs, credential headers):
   * masking costs grow with their number, so a node that would add more fails. Default 256.
   */
  maxSecretsPerTask: number;
}

export type TaskLimitName = keyof TaskLimits;

export const DEFAULT_LIMITS: Readonly<TaskLimits> = Object.freeze({
  maxNodeExecutions: 1_000_000,
  taskTimeoutMs: 60 * 60 * 1000,
  maxValueBytes: 16 * 1024 * 1024,
  maxReportBytes: 64 * 1024 * 1024,
  maxSnapshotsPerNode: 100,
  maxMessages: 1_000,
  maxEvents: 10_000,
  maxJsonDepth: 128,
  maxSchemaBytes: 16 * 1024 * 1024,
  maxDeclarationProperties: 1_000,
  maxSecretsPerTask: 256,
});

export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as TaskLimitName[];

export function isTaskLimitName(value: string): value is TaskLimitName {
  return Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, value);
}

/** The defaults, overridden by what the runtime was given; each must be a number, 0 or more (`Infinity` turns one off). */
export function resolveLimits(given: Partial<Record<TaskLimitName, unknown>> | undefined): Readonly<TaskLimits> {
  const limits: TaskLimits = { ...DEFAULT_LIMITS };
  if (!given) return limits;
  for (const name of LIMIT_NAMES) {
    const value = given[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new FlowgramError(ErrorCodes.BAD_REQUEST, `limits.${name}: must be a number, 0 or more, got ${String(value)}`);
    }
    limits[name] = value === Number.POSITIVE_INFINITY ? value : Math.floor(value);
  }
  return limits;
}

/** FLOWGRAM_ERR_LIMIT_EXCEEDED with a message that starts with the limit's name, e.g. `maxJsonDepth: inputs nest deeper than 128 levels`. */
export function limitExceeded(limit: string, detail: string, nodeID?: string): FlowgramError {
  return new FlowgramError(ErrorCodes.LIMIT_EXCEEDED, `${limit}: ${detail}`, { limit, ...(nodeID === undefined ? {} : { nodeID }) });
}
