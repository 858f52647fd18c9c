import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten';
import { limitExceededMessage, type ScriptLimits } from './limits.js';
import type { ScriptLog } from './types.js';
import { stripTypes } from './typescript.js';

/** One execution as the worker receives it: parameters travel as JSON text, never as objects. */
export interface SandboxRequest {
  language: 'javascript' | 'typescript';
  source: string;
  paramsJSON: string;
  limits: ScriptLimits;
}

/** The outcome; outputs travel back as JSON text of a plain object. */
export type SandboxResult =
  | { ok: true; outputsJSON: string; logs: ScriptLog[] }
  | { ok: false; error: string; limit?: keyof ScriptLimits; logs: ScriptLog[] };

/** Collects console output up to the byte budget; what does not fit is dropped with one notice. */
class ConsoleSink {
  readonly logs: ScriptLog[] = [];
  private remaining = Number.POSITIVE_INFINITY;
  private truncated = false;

  setBudget(bytes: number): void {
    this.remaining = bytes;
  }

  get full(): boolean {
    return this.truncated;
  }

  add(level: ScriptLog['level'], message: string): void {
    if (this.truncated) return;
    // Each message costs at least a little, so a flood of empty lines is bounded too.
    const cost = Math.max(Buffer.byteLength(message), 16);
    if (cost > this.remaining) {
      this.truncated = true;
      this.logs.push({ level: 'warning', message: 'console output truncated (consoleBytes limit reached)' });
      return;
    }
    this.remaining -= cost;
    this.logs.push({ level, message });
  }
}

/** A runtime and context made ready before a request arrives, used for exactly one execution. */
interface PreparedContext {
  runtime: QuickJSRuntime;
  context: QuickJSContext;
  /** The context's own JSON.parse / JSON.stringify, taken before any user code could replace them. */
  parse: QuickJSHandle;
  stringify: QuickJSHandle;
  console: ConsoleSink;
}

const CONSOLE_METHODS: ReadonlyArray<[name: string, level: ScriptLog['level']]> = [
  ['log', 'log'],
  ['info', 'info'],
  ['debug', 'debug'],
  ['warn', 'warning'],
  ['error', 'error'],
];

const RETIRING_LIMITS: ReadonlySet<string | undefined> = new Set(['timeoutMs', 'stackBytes', 'memoryBytes']);

const MAIN_LOOKUP = '\n;typeof main === "function" ? main : undefined';

const EVAL_OPTIONS = { type: 'global', strict: true } as const;

class ScriptFailure extends Error {}

/**
 * Runs scripts in QuickJS with a fresh runtime and context per execution, so nothing survives from
 * one script to the next. The next context is built while the worker is idle (`prepare`), which
 * takes its cost off the path of the request. Used inside a worker thread; synchronous by design.
 */
export class QuickJSSandbox {
  private spare: PreparedContext | undefined;
  /** Contexts of finished executions, freed in idle time (at the latest before the next execution). */
  private readonly used: PreparedContext[] = [];
  /**
   * False once the WebAssembly module cannot be trusted (it failed, or a script was interrupted and
   * its runtime could not be freed safely); the worker then exits and the pool starts a fresh one.
   */
  usable = true;

  constructor(private readonly module: QuickJSWASMModule) {}

  /** Idle-time work: frees finished executions' contexts and builds the one for the next execution. */
  prepare(): void {
    for (let used = this.used.pop(); used; used = this.used.pop()) this.dispose(used);
    this.prepareSpare();
  }

  private prepareSpare(): void {
    if (this.spare || !this.usable) return;
    const runtime = this.module.newRuntime();
    const context = runtime.newContext();
    const sink = new ConsoleSink();
    // Built from host calls rather than evaluated source: a context is made per execution, and
    // compiling a setup script in each one costs more than the context itself.
    const json = context.getProp(context.global, 'JSON');
    const parse = context.getProp(json, 'parse');
    const stringify = context.getProp(json, 'stringify');
    json.dispose();
    const format = (value: QuickJSHandle): string => {
      if (context.typeof(value) === 'string') return context.getString(value);
      const text = context.callFunction(stringify, context.undefined, value);
      if (text.error) {
        text.error.dispose();
        return '[unprintable]';
      }
      const line = context.typeof(text.value) === 'string' ? context.getString(text.value) : String(context.dump(value));
      text.value.dispose();
      return line;
    };
    const console = context.newObject();
    for (const [name, level] of CONSOLE_METHODS) {
      const method = context.newFunction(name, (...args) => {
        if (sink.full) return;
        sink.add(level, args.map(format).join(' '));
      });
      context.setProp(console, name, method);
      method.dispose();
    }
    context.setProp(context.global, 'console', console);
    console.dispose();
    this.spare = { runtime, context, parse, stringify, console: sink };
  }

  run(request: SandboxRequest): SandboxResult {
    if (!this.usable) return { ok: false, error: 'code: the sandbox is restarting, try again', logs: [] };
    try {
      // Usually done in idle time already; a finished runtime still holding memory would shrink this
      // script's share of the capped WebAssembly memory.
      this.prepare();
    } catch (error) {
      this.usable = false;
      return { ok: false, error: `code: the sandbox could not start: ${error instanceof Error ? error.message : String(error)}`, logs: [] };
    }
    const prepared = this.spare as PreparedContext;
    this.spare = undefined;
    const { runtime } = prepared;
    const { limits } = request;
    prepared.console.setBudget(limits.consoleBytes);
    runtime.setMaxStackSize(limits.stackBytes);
    const deadline = Date.now() + limits.timeoutMs;
    runtime.setInterruptHandler(() => Date.now() >= deadline);
    runtime.setMemoryLimit(limits.memoryBytes);
    const owned: QuickJSHandle[] = [];
    let result: SandboxResult;
    try {
      result = { ok: true, outputsJSON: this.execute(prepared, request, owned), logs: prepared.console.logs };
    } catch (error) {
      result = this.failure(prepared, error, deadline, limits);
    } finally {
      for (const handle of owned) if (handle.alive) handle.dispose();
      // QuickJS can leak objects when a script is interrupted or runs out of stack or memory, and
      // freeing a runtime with leaks aborts the module: leave such a runtime to die with the worker.
      if (result!.ok || !RETIRING_LIMITS.has(result!.limit)) this.used.push(prepared);
      else this.usable = false;
    }
    return result;
  }

  /** Runs the script and main(); returns the outputs as JSON text or throws ScriptFailure / a handle error. */
  private execute(prepared: PreparedContext, request: SandboxRequest, owned: QuickJSHandle[]): string {
    const { context, runtime } = prepared;
    const take = (result: { error?: QuickJSHandle; value?: QuickJSHandle }): QuickJSHandle => {
      if (result.error) {
        owned.push(result.error);
        throw new HandleError(result.error);
      }
      owned.push(result.value as QuickJSHandle);
      return result.value as QuickJSHandle;
    };
    const source = request.language === 'typescript' ? stripTypes(request.source) : request.source;
    // The script's completion value is main itself: one evaluation instead of two, and evaluated
    // rather than read from the global object, so `const main = ...` is found too.
    const main = take(context.evalCode(`${source}${MAIN_LOOKUP}`, 'script.js', EVAL_OPTIONS));
    if (context.typeof(main) !== 'function') throw new ScriptFailure('main function is required in the script');
    const paramsText = context.newString(request.paramsJSON);
    owned.push(paramsText);
    const params = take(context.callFunction(prepared.parse, context.undefined, paramsText));
    const argument = context.newObject();
    owned.push(argument);
    context.setProp(argument, 'params', params);
    let value = take(context.callFunction(main, context.undefined, argument));
    for (;;) {
      const state = context.getPromiseState(value);
      if (state.type === 'fulfilled') {
        if (!state.notAPromise) {
          owned.push(state.value);
          value = state.value;
        }
        break;
      }
      if (state.type === 'rejected') {
        owned.push(state.error);
        throw new HandleError(state.error);
      }
      // Nothing outside the sandbox can settle a promise (no timers, no I/O), so no jobs means never.
      if (!runtime.hasPendingJob()) throw new ScriptFailure('main returned a promise that never settles');
      const jobs = runtime.executePendingJobs();
      if (jobs.error) {
        owned.push(jobs.error);
        throw new HandleError(jobs.error);
      }
    }
    const json = take(context.callFunction(prepared.stringify, context.undefined, value));
    // What JSON drops (undefined, functions, symbols) gives no outputs.
    if (context.typeof(json) !== 'string') return '{}';
    const text = context.getString(json);
    if (Buffer.byteLength(text) > request.limits.outputBytes) {
      throw new LimitFailure('outputBytes');
    }
    return text.charCodeAt(0) === 123 /* { */ ? text : `{"result":${text}}`;
  }

  private failure(prepared: PreparedContext, error: unknown, deadline: number, limits: ScriptLimits): SandboxResult {
    const logs = prepared.console.logs;
    if (error instanceof LimitFailure) return { ok: false, error: limitExceededMessage(error.limit, limits), limit: error.limit, logs };
    // Anything that failed after the deadline failed because of it (the interrupt surfaces as many errors).
    if (Date.now() >= deadline) return { ok: false, error: limitExceededMessage('timeoutMs', limits), limit: 'timeoutMs', logs };
    if (error instanceof ScriptFailure || error instanceof SyntaxError) return { ok: false, error: error.message, logs };
    if (!(error instanceof HandleError)) {
      // The WebAssembly module itself failed: do not trust it again.
      this.usable = false;
      // The thread's own stack can run out before QuickJS's stack limit does (deep recursion in C code).
      if (error instanceof RangeError && /call stack size/i.test(error.message)) {
        return { ok: false, error: limitExceededMessage('stackBytes', limits), limit: 'stackBytes', logs };
      }
      return { ok: false, error: `code: the sandbox failed: ${error instanceof Error ? error.message : String(error)}`, logs };
    }
    // Reading the error may allocate; the script is done, so its memory limit no longer applies.
    prepared.runtime.setMemoryLimit(-1);
    const { name, message } = describeError(prepared.context, error.handle);
    if (name === 'InternalError' && message === 'out of memory') {
      return { ok: false, error: limitExceededMessage('memoryBytes', limits), limit: 'memoryBytes', logs };
    }
    if ((name === 'InternalError' || name === 'RangeError') && /stack overflow|call stack size/i.test(message)) {
      return { ok: false, error: limitExceededMessage('stackBytes', limits), limit: 'stackBytes', logs };
    }
    if (name === 'TypeError' && /circular/i.test(message)) {
      return { ok: false, error: `main returned a value that is not JSON (${message})`, logs };
    }
    return { ok: false, error: name === undefined || name === 'Error' ? message : `${name}: ${message}`, logs };
  }

  private dispose(prepared: PreparedContext): void {
    try {
      prepared.parse.dispose();
      prepared.stringify.dispose();
      prepared.context.dispose();
      prepared.runtime.dispose();
    } catch {
      // A leaked object aborts the module on dispose; it cannot be trusted any more.
      this.usable = false;
    }
  }
}

class HandleError extends Error {
  constructor(readonly handle: QuickJSHandle) {
    super('script error');
  }
}

class LimitFailure extends Error {
  constructor(readonly limit: keyof ScriptLimits) {
    super(limit);
  }
}

/** Name and message of a thrown value, read without trusting it (getters may throw). */
function describeError(context: QuickJSContext, handle: QuickJSHandle): { name: string | undefined; message: string } {
  try {
    const type = context.typeof(handle);
    if (type === 'string') return { name: undefined, message: context.getString(handle) };
    if (type !== 'object') return { name: undefined, message: String(context.dump(handle)) };
    const read = (key: string): string | undefined => {
      const property = context.getProp(handle, key);
      try {
        return context.typeof(property) === 'string' ? context.getString(property) : undefined;
      } finally {
        property.dispose();
      }
    };
    const message = read('message');
    if (message !== undefined) return { name: read('name'), message };
    const json = context.dump(handle) as unknown;
    return { name: undefined, message: JSON.stringify(json) ?? String(json) };
  } catch {
    return { name: undefined, message: 'the script threw a value that cannot be read' };
  }
}
