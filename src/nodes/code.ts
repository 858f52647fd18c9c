import type { CodeLimits, ExecutionContext, ExecutionResult, NodeExecutor, NodeLogger } from '../engine/types.js';
import { ErrorCodes, FlowgramError } from '../errors.js';
import { resolveScriptLimits } from '../sandbox/limits.js';
import { pythonRunnerFor } from '../sandbox/python/index.js';
import { quickJSRunnerFor } from '../sandbox/quickjs-runner.js';
import type { ScriptLog, ScriptRunner } from '../sandbox/types.js';
import type { WorkflowOutputs } from '../schema/types.js';

/** Builds a runner from the runtime's code limits (worker count, memory cap) on the first script. */
export type ScriptRunnerFactory = (limits: CodeLimits | undefined) => ScriptRunner;

export interface CodeExecutorOptions {
  /** Runners (or factories of runners) for script languages; the first that lists a language runs it. */
  runners?: Array<ScriptRunner | ScriptRunnerFactory>;
}

/** The runners of the default code node; a new language is one more entry. */
export const DEFAULT_SCRIPT_RUNNERS: readonly ScriptRunnerFactory[] = [quickJSRunnerFor, pythonRunnerFor];

interface CodeNodeData {
  script?: { language?: unknown; content?: unknown };
  /**
   * Per-node limits (timeoutMs, memoryBytes, stackBytes, outputBytes, consoleBytes). They can only
   * lower the runtime's limits: a workflow is untrusted input, the runtime's configuration is not.
   */
  limits?: unknown;
}

const LOG_METHODS: Readonly<Record<ScriptLog['level'], keyof NodeLogger>> = {
  log: 'log',
  info: 'info',
  debug: 'debug',
  warning: 'warn',
  error: 'error',
};

function isPlainObject(value: unknown): value is WorkflowOutputs {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The `code` node: runs `data.script` (`main({ params })`) in a sandbox and returns what main returns;
 * a plain object becomes the outputs, anything else `{ result }`. Runners start lazily on the first
 * script and are released by `close()` (the runtime calls it when it closes).
 */
export interface CodeExecutor extends NodeExecutor {
  /**
   * Starts the runners' workers now (e.g. at server start-up) instead of on the first script; only
   * those of `languages` when given. Resolves when they are ready.
   */
  warm(limits?: CodeLimits, languages?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export function createCodeExecutor(options: CodeExecutorOptions = {}): CodeExecutor {
  const sources = options.runners ?? DEFAULT_SCRIPT_RUNNERS;
  let runners: ScriptRunner[] | undefined;

  function getRunners(limits: CodeLimits | undefined): ScriptRunner[] {
    runners ??= sources.map((source) => (typeof source === 'function' ? source(limits) : source));
    return runners;
  }

  function runnerFor(language: string, limits: CodeLimits | undefined): ScriptRunner | undefined {
    return getRunners(limits).find((runner) => runner.languages.includes(language));
  }

  async function execute(context: ExecutionContext): Promise<ExecutionResult> {
    const data = context.node.data as CodeNodeData;
    const script = data.script;
    if (!script || typeof script.content !== 'string' || script.content.trim() === '') {
      throw new FlowgramError(ErrorCodes.NODE_FAILED, 'code: data.script.content is required');
    }
    const language = typeof script.language === 'string' ? script.language : 'javascript';
    const codeLimits = context.limits.code;
    const runner = runnerFor(language, codeLimits);
    if (!runner) {
      const supported = [...new Set((runners ?? []).flatMap((each) => each.languages))].join(', ');
      throw new FlowgramError(ErrorCodes.NODE_FAILED, `code: unsupported language "${language}" (supported: ${supported})`);
    }
    if (context.signal.aborted) throw context.signal.reason;
    const limits = resolveScriptLimits(codeLimits, data.limits);
    const result = await runner.run({ language, source: script.content, params: context.inputs, limits }, context.signal);
    for (const log of result.logs) context.log[LOG_METHODS[log.level] ?? 'log'](log.message);
    if (!result.ok) {
      throw new FlowgramError(result.limit ? ErrorCodes.LIMIT_EXCEEDED : ErrorCodes.NODE_FAILED, result.error);
    }
    return { outputs: isPlainObject(result.value) ? result.value : { result: result.value } };
  }

  return {
    type: 'code',
    execute,
    async warm(limits, languages) {
      const wanted = getRunners(limits).filter((runner) => !languages || runner.languages.some((language) => languages.includes(language)));
      await Promise.all(wanted.map((runner) => runner.warm?.()));
    },
    async close() {
      const current = runners ?? [];
      runners = undefined;
      await Promise.all(current.map((runner) => runner.close()));
    },
  };
}
