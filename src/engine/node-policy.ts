/**
 * Per-node policies, read from any node's `data` (built-in or custom type): `retry`, `timeoutMs` and
 * `onError`. This module parses them once per document, checks their shapes with field paths, and
 * computes retry delays; the engine's per-node step (engine.ts) applies them, so executors never see them.
 */
import type { IJsonSchema } from '../schema/types.js';

/** `data.retry`: re-run a node that failed (never one whose task was cancelled). */
export interface RetryPolicy {
  /** Attempts in all, the first one included (1 = no retry). */
  readonly maxAttempts: number;
  /** Delay before the second attempt (ms). */
  readonly initialDelayMs: number;
  /** Each further delay is the previous one times this. */
  readonly backoffFactor: number;
  /** Upper bound of any single delay (ms). */
  readonly maxDelayMs: number;
  /** 0..1: each delay is shortened by up to this fraction of itself, at random (spreads concurrent retries). */
  readonly jitter: number;
}

/** What happens once a node has failed for good (after its retries). */
export type OnErrorMode = 'fail' | 'continue' | 'branch';

export interface NodePolicy {
  readonly retry: RetryPolicy | undefined;
  /** Each attempt fails with FLOWGRAM_ERR_NODE_TIMEOUT after this long (ms); its AbortSignal fires. */
  readonly timeoutMs: number | undefined;
  readonly onError: OnErrorMode;
  /** The outputs of a node whose failure `continue`s. */
  readonly defaults: Readonly<Record<string, unknown>> | undefined;
}

/** The output port a node with `onError: "branch"` gets: followed when it fails, skipped when it succeeds. */
export const ERROR_PORT = 'error';

export const RETRY_DEFAULTS: RetryPolicy = Object.freeze({ maxAttempts: 3, initialDelayMs: 1_000, backoffFactor: 2, maxDelayMs: 30_000, jitter: 0 });

/** Bounds a workflow author may choose (a retry or a timeout never becomes unbounded). */
export const POLICY_BOUNDS = Object.freeze({
  maxAttempts: 20,
  maxDelayMs: 3_600_000,
  maxBackoffFactor: 10,
  /** What setTimeout can wait (about 24.8 days). */
  maxTimeoutMs: 2_147_483_647,
});

/**
 * The policy fields as a JSON Schema (draft-07): what a team pastes into its editor's node form. The
 * runtime checks the same rules (`policyIssues`), with a path per problem.
 */
export const NODE_POLICY_JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Node policies (flowgram-runtime)',
  type: 'object',
  properties: {
    retry: {
      type: 'object',
      title: 'Retry on failure',
      additionalProperties: false,
      properties: {
        maxAttempts: { type: 'integer', minimum: 1, maximum: POLICY_BOUNDS.maxAttempts, default: RETRY_DEFAULTS.maxAttempts, title: 'Attempts in all' },
        initialDelayMs: { type: 'integer', minimum: 0, maximum: POLICY_BOUNDS.maxDelayMs, default: RETRY_DEFAULTS.initialDelayMs, title: 'First delay (ms)' },
        backoffFactor: { type: 'number', minimum: 1, maximum: POLICY_BOUNDS.maxBackoffFactor, default: RETRY_DEFAULTS.backoffFactor, title: 'Backoff factor' },
        maxDelayMs: { type: 'integer', minimum: 0, maximum: POLICY_BOUNDS.maxDelayMs, default: RETRY_DEFAULTS.maxDelayMs, title: 'Longest delay (ms)' },
        jitter: { type: 'number', minimum: 0, maximum: 1, default: RETRY_DEFAULTS.jitter, title: 'Jitter (0..1)' },
      },
    },
    timeoutMs: { type: 'integer', minimum: 1, maximum: POLICY_BOUNDS.maxTimeoutMs, title: 'Timeout per attempt (ms)' },
    onError: {
      title: 'On error',
      default: 'fail',
      oneOf: [
        { const: 'fail', title: 'Fail the workflow' },
        { const: 'branch', title: 'Follow the "error" port' },
        {
          type: 'object',
          title: 'Continue with default outputs',
          additionalProperties: false,
          required: ['continue'],
          properties: {
            continue: { type: 'object', additionalProperties: false, required: ['outputs'], properties: { outputs: { type: 'object' } } },
          },
        },
      ],
    },
  },
} as const;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The policy a node's `data` asks for; undefined when it asks for none (the engine's fast path). Call on validated data. */
export function nodePolicyOf(data: Readonly<Record<string, unknown>>): NodePolicy | undefined {
  const { retry, timeoutMs, onError } = data;
  if (retry === undefined && timeoutMs === undefined && (onError === undefined || onError === 'fail')) return undefined;
  let mode: OnErrorMode = 'fail';
  let defaults: Record<string, unknown> | undefined;
  if (onError === 'branch') mode = 'branch';
  else if (isObject(onError) && isObject(onError.continue)) {
    mode = 'continue';
    defaults = isObject(onError.continue.outputs) ? onError.continue.outputs : {};
  }
  return {
    retry: isObject(retry) ? { ...RETRY_DEFAULTS, ...(retry as Partial<RetryPolicy>) } : undefined,
    timeoutMs: typeof timeoutMs === 'number' ? timeoutMs : undefined,
    onError: mode,
    defaults,
  };
}

/**
 * The delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed: `initialDelayMs ×
 * backoffFactor^(attempt-1)`, capped at `maxDelayMs`, shortened by up to `jitter` of itself at random.
 */
export function retryDelayMs(retry: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(retry.maxDelayMs, retry.initialDelayMs * retry.backoffFactor ** (attempt - 1));
  return Math.round(exponential * (1 - retry.jitter * random()));
}

/** A problem with a node's policies: its path (e.g. `nodes[2].data.retry.maxAttempts`) and a message that reads alone. */
export interface PolicyIssue {
  path: string;
  message: string;
}

/** What `policyIssues` needs to know of a node besides its data. */
export interface PolicyNode {
  readonly data: Readonly<Record<string, unknown>>;
  /** The node's declared outputs, which `continue` defaults are checked against. */
  readonly outputs: IJsonSchema | undefined;
  /** Whether an edge leaves it from the `error` port. */
  readonly hasErrorEdge: boolean;
}

type Check = (value: unknown) => string | undefined;

const numberIn =
  (min: number, max: number, integer: boolean): Check =>
  (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number, got ${describe(value)}`;
    if (integer && !Number.isInteger(value)) return `must be an integer, got ${value}`;
    if (value < min || value > max) return `must be between ${min} and ${max}, got ${value}`;
    return undefined;
  };

const RETRY_FIELDS: Readonly<Record<keyof RetryPolicy, Check>> = {
  maxAttempts: numberIn(1, POLICY_BOUNDS.maxAttempts, true),
  initialDelayMs: numberIn(0, POLICY_BOUNDS.maxDelayMs, true),
  backoffFactor: numberIn(1, POLICY_BOUNDS.maxBackoffFactor, false),
  maxDelayMs: numberIn(0, POLICY_BOUNDS.maxDelayMs, true),
  jitter: numberIn(0, 1, false),
};

/**
 * Every problem with the policies in a node's data, with its path under `path` (the node's `data`).
 * `checkOutputs` checks `continue` defaults against the declared outputs (messages start with their path under `root`).
 */
export function policyIssues(
  node: PolicyNode,
  path: string,
  checkOutputs: (declared: IJsonSchema, values: Record<string, unknown>, root: string) => string[],
): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const fail = (at: string, message: string): void => void issues.push({ path: at, message: `${at}: ${message}` });
  const { retry, timeoutMs, onError } = node.data;
  if (retry !== undefined) {
    if (!isObject(retry)) fail(`${path}.retry`, `must be an object like {"maxAttempts": 3}, got ${describe(retry)}`);
    else {
      for (const key of Object.keys(retry)) {
        const check = RETRY_FIELDS[key as keyof RetryPolicy] as Check | undefined;
        if (!check) fail(`${path}.retry.${key}`, `unknown field (expected ${Object.keys(RETRY_FIELDS).join(', ')})`);
        else {
          const problem = check(retry[key]);
          if (problem) fail(`${path}.retry.${key}`, problem);
        }
      }
    }
  }
  if (timeoutMs !== undefined) {
    const problem = numberIn(1, POLICY_BOUNDS.maxTimeoutMs, true)(timeoutMs);
    if (problem) fail(`${path}.timeoutMs`, problem);
  }
  if (onError === undefined || onError === 'fail') return issues;
  if (onError === 'branch') {
    if (!node.hasErrorEdge) fail(`${path}.onError`, `"branch" needs an edge from this node's "${ERROR_PORT}" port (sourcePortID "${ERROR_PORT}")`);
  } else if (isObject(onError) && Object.keys(onError).length === 1 && isObject(onError.continue)) {
    const outputs = onError.continue.outputs;
    if (!isObject(outputs)) fail(`${path}.onError.continue.outputs`, `must be an object of default outputs, got ${describe(outputs)}`);
    else if (node.outputs) {
      const root = `${path}.onError.continue.outputs`;
      for (const message of checkOutputs(node.outputs, outputs, root)) issues.push({ path: message.slice(0, message.indexOf(':')), message });
    }
  } else {
    fail(`${path}.onError`, `must be "fail", "branch" or {"continue": {"outputs": {…}}}, got ${JSON.stringify(onError) ?? describe(onError)}`);
  }
  return issues;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
