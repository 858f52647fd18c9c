import { randomFillSync } from 'node:crypto';
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten';
import { limitExceededMessage, type ScriptLimits } from './limits.js';
import type { MemoryLayout } from './quickjs-wasm.js';
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

/** Keeps console output up to the byte budget; what does not fit is dropped with one notice. */
class ConsoleSink {
  readonly logs: ScriptLog[] = [];
  private truncated = false;

  constructor(private remaining: number) {}

  add(level: ScriptLog['level'], message: string): void {
    if (this.truncated) return;
    // Each message costs at least a little, so a flood of empty lines is bounded too.
    const cost = Math.max(Buffer.byteLength(message), 16);
    if (cost > this.remaining) {
      this.truncate('consoleBytes');
      return;
    }
    this.remaining -= cost;
    this.logs.push({ level, message });
  }

  get full(): boolean {
    return this.truncated;
  }

  /** Keeps nothing more, with one notice naming the limit that stopped it. */
  truncate(limit: 'consoleBytes' | 'memoryBytes'): void {
    if (this.truncated) return;
    this.truncated = true;
    this.logs.push({ level: 'warning', message: `console output truncated (${limit} limit reached)` });
  }
}

const LOG_LEVELS: ReadonlySet<string> = new Set(['log', 'info', 'debug', 'warning', 'error']);

/**
 * Set up inside the sandbox once, before the snapshot. Evaluates to `{ lines, configure, describe, thrownName, thrownLine }`.
 *
 * The console is written in JavaScript: no host function is involved, so nothing outside the
 * WebAssembly memory changes while a script runs (see the snapshot below). It keeps
 * `[level, message, ...]` in a list only the host can reach and stops keeping once `budget` UTF-16
 * units are used (the host then applies the exact byte budget). The list has no prototype, so writing
 * to it never reaches a setter a script put on Array.prototype, and it only ever holds strings in own
 * data properties: the host reads it after main without running any script code.
 *
 * `describe` turns a thrown value into a message string (its name kept for `thrownName`, the script
 * line it was thrown from for `thrownLine`). It reads the
 * value's getters, which are script code, so the host calls it while the script's limits are in force;
 * it catches everything it can, so only an interrupt or running out of memory gets out of it.
 *
 * Math.random is replaced by xoshiro128** seeded by the host before every execution: QuickJS seeds
 * its own generator when a context is built, and restoring the snapshot would replay one sequence.
 */
const SANDBOX_SETUP = `(() => {
  'use strict';
  const stringify = JSON.stringify;
  const toText = String;
  // Taken before any script runs: a script that replaces RegExp.prototype.exec does not reach describe.
  const apply = Reflect.apply;
  const exec = RegExp.prototype.exec;
  const scriptFrame = /script\\.js:(\\d+)/;
  const lines = [];
  Object.setPrototypeOf(lines, null);
  let budget = 0;
  let used = 0;
  let full = false;
  const format = (value) => {
    if (typeof value === 'string') return value;
    try {
      const text = stringify(value);
      return typeof text === 'string' ? text : toText(value);
    } catch {
      return '[unprintable]';
    }
  };
  const method = (level) => function (...args) {
    if (full) return;
    let message = '';
    for (let i = 0; i < args.length; i++) message += (i === 0 ? '' : ' ') + format(args[i]);
    used += message.length < 16 ? 16 : message.length;
    if (used > budget) full = true;
    lines[lines.length] = level;
    lines[lines.length] = message;
  };
  globalThis.console = { log: method('log'), info: method('info'), debug: method('debug'), warn: method('warning'), error: method('error') };

  let name;
  let line;
  const describe = (thrown) => {
    name = undefined;
    line = undefined;
    if (typeof thrown === 'string') return thrown;
    if (thrown === null || typeof thrown !== 'object') {
      try { return toText(thrown); } catch { return 'the script threw a value that cannot be read'; }
    }
    let message;
    try { message = thrown.message; } catch {}
    if (typeof message === 'string') {
      try { const named = thrown.name; if (typeof named === 'string') name = named; } catch {}
      // A syntax error in the script says where it is (the script is evaluated as script.js, line for line).
      try {
        if (name === 'SyntaxError' && thrown.fileName === 'script.js' && typeof thrown.lineNumber === 'number') {
          const column = typeof thrown.columnNumber === 'number' ? ', column ' + thrown.columnNumber : '';
          return message + ' (line ' + thrown.lineNumber + column + ')';
        }
      } catch {}
      // Where in the script a runtime error came from: the first script.js frame of its stack.
      try {
        const stack = thrown.stack;
        const found = typeof stack === 'string' ? apply(exec, scriptFrame, [stack]) : null;
        if (found) line = found[1];
      } catch {}
      return message;
    }
    try {
      const text = stringify(thrown);
      if (typeof text === 'string') return text;
    } catch {}
    try { return stringify(toText(thrown)); } catch { return 'the script threw a value that cannot be read'; }
  };
  const thrownName = () => name;
  const thrownLine = () => line;

  let a = 0, b = 0, c = 0, d = 0;
  const next = () => {
    const result = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)), 9) >>> 0;
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t;
    d = (d << 11) | (d >>> 21);
    return result;
  };
  const random = { random() { return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992; } }.random;
  Object.defineProperty(Math, 'random', { value: random, writable: true, enumerable: false, configurable: true });

  const configure = (bytes, s0, s1, s2, s3) => {
    budget = bytes;
    a = s0 | 0; b = s1 | 0; c = s2 | 0; d = s3 | 1;
  };
  return { lines, configure, describe, thrownName, thrownLine };
})()`;

/** Random words for seeding Math.random, drawn from the OS 256 executions' worth at a time. */
const seeds = new Uint32Array(1024);
let seedsUsed = seeds.length;

function nextSeed(): Uint32Array {
  if (seedsUsed === seeds.length) {
    randomFillSync(seeds);
    seedsUsed = 0;
  }
  seedsUsed += 4;
  return seeds.subarray(seedsUsed - 4, seedsUsed);
}

const MAIN_LOOKUP = '\n;typeof main === "function" ? main : undefined';

const EVAL_OPTIONS = { type: 'global', strict: true } as const;

class ScriptFailure extends Error {}

export interface QuickJSSandboxOptions {
  /**
   * Makes a module that was stopped in the middle of a call usable again (puts its stack pointer back,
   * see wasm-polling.ts); the memory is restored after it. Without it such a sandbox stays unusable.
   */
  recover?: () => void;
}

/**
 * Runs scripts in QuickJS so that nothing survives from one script to the next, with the cost of a
 * fresh context paid once per worker instead of once per script:
 *
 * one runtime and context are built, their console and JSON handles set up, and then the WebAssembly
 * memory that holds all of QuickJS's state (static data and the heap, see MemoryLayout) is copied.
 * After every script that memory is copied back, byte for byte: the next script starts from exactly
 * the state of a freshly built context (its globals, prototypes, atoms, allocator and garbage
 * collector), whatever the previous one did, including being interrupted or running out of memory.
 * Restoring costs a few µs; building a context costs over 100.
 *
 * Everything that lives outside that memory is fixed before the copy and never changes afterwards:
 * the handles held here, the interrupt handler (reading `deadline`), no host functions. A failure of
 * the WebAssembly module itself (a trap, V8's stack running out, the host stopping it) may leave its
 * stack pointer wrong, which the copy does not cover: the sandbox then stops being `usable` and the
 * worker is replaced, unless the owner can put the stack pointer back (`recover`, the main thread's
 * polling build). Synchronous by design.
 */
export class QuickJSSandbox {
  /** False once the WebAssembly module cannot be trusted; the worker then exits and the pool starts a fresh one. */
  usable = true;
  private readonly runtime: QuickJSRuntime;
  private readonly context: QuickJSContext;
  /** The context's own JSON.parse / JSON.stringify, taken before any user code could replace them. */
  private readonly parse: QuickJSHandle;
  private readonly stringify: QuickJSHandle;
  private readonly consoleLines: QuickJSHandle;
  private readonly configureRun: QuickJSHandle;
  private readonly describeThrown: QuickJSHandle;
  private readonly thrownName: QuickJSHandle;
  private readonly thrownLine: QuickJSHandle;
  /** The string "length", made once (a property key given as text is a new string every time). */
  private readonly lengthKey: QuickJSHandle;
  private deadline = Number.POSITIVE_INFINITY;
  private readonly snapshot: MemorySnapshot;
  /** An attempt ran since the last reset. */
  private dirty = false;

  private readonly recover: (() => void) | undefined;

  constructor(module: QuickJSWASMModule, layout: MemoryLayout, options: QuickJSSandboxOptions = {}) {
    this.recover = options.recover;
    this.runtime = module.newRuntime();
    this.context = this.runtime.newContext();
    const { context } = this;
    this.runtime.setInterruptHandler(() => this.pastDeadline());
    const json = context.getProp(context.global, 'JSON');
    this.parse = context.getProp(json, 'parse');
    this.stringify = context.getProp(json, 'stringify');
    json.dispose();
    const setup = context.unwrapResult(context.evalCode(SANDBOX_SETUP, 'setup.js', EVAL_OPTIONS));
    this.consoleLines = context.getProp(setup, 'lines');
    this.configureRun = context.getProp(setup, 'configure');
    this.describeThrown = context.getProp(setup, 'describe');
    this.thrownName = context.getProp(setup, 'thrownName');
    this.thrownLine = context.getProp(setup, 'thrownLine');
    setup.dispose();
    this.lengthKey = context.newString('length');
    // Cached handles quickjs-emscripten creates on first use: made now, so they exist in the snapshot.
    void context.undefined;
    void context.global;
    this.snapshot = new MemorySnapshot(module.getWasmMemory() as unknown as WasmMemory, layout);
  }

  /** One execution, then back to the fresh context. */
  run(request: SandboxRequest): SandboxResult {
    const result = this.attempt(request);
    this.reset();
    return result;
  }

  /**
   * Runs one script and leaves the context as the script left it: `reset()` must follow before the
   * next attempt (a worker answers first and resets while the host reads the answer).
   *
   * The script's limits (deadline, memory, stack) stay in force until the reset: every piece of
   * script code (main, its jobs, getters and toJSON met while serializing the result or reading a
   * thrown value) runs under them, and what the host reads afterwards is only strings in own data
   * properties, which runs no script code.
   */
  attempt(request: SandboxRequest): SandboxResult {
    if (this.dirty) this.reset();
    if (!this.usable) return { ok: false, error: 'code: the sandbox is restarting, try again', logs: [] };
    this.dirty = true;
    const { limits } = request;
    const { runtime } = this;
    runtime.setMaxStackSize(limits.stackBytes);
    this.deadline = performance.now() + limits.timeoutMs;
    let outcome: { ok: true; outputsJSON: string } | { ok: false; error: string; limit?: keyof ScriptLimits };
    let logs: ScriptLog[] = [];
    try {
      this.configure(limits.consoleBytes);
      runtime.setMemoryLimit(limits.memoryBytes);
      try {
        outcome = { ok: true, outputsJSON: this.execute(request) };
      } catch (error) {
        outcome = this.failure(error, limits);
      }
      if (this.usable) logs = this.readConsole(limits.consoleBytes);
    } catch (error) {
      this.usable = false;
      outcome = { ok: false, error: `code: the sandbox failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    return { ...outcome, logs };
  }

  /** Whether the running attempt is out of time (asked by QuickJS's interrupt polling, and by the host's). */
  pastDeadline(): boolean {
    return performance.now() >= this.deadline;
  }

  /** Back to the fresh context (this also resets the memory limit and the interrupt state to the snapshot's). */
  reset(): void {
    if (!this.dirty) return;
    this.dirty = false;
    if (!this.usable && this.recover) {
      this.recover();
      this.usable = true;
    }
    // The handles of the attempt are not disposed one by one: the restore frees everything they held.
    if (this.usable) this.snapshot.restore();
    this.deadline = Number.POSITIVE_INFINITY;
  }

  /** The console's budget and a fresh seed for Math.random, before the script runs. */
  private configure(consoleBytes: number): void {
    const { context } = this;
    const args = [consoleBytes, ...nextSeed()].map((value) => context.newNumber(value));
    context.unwrapResult(context.callFunction(this.configureRun, context.undefined, ...args));
  }

  /**
   * What the script logged, within the byte budget (the sandbox only bounds it roughly). Read entry
   * by entry from the list's own data properties, so no script code runs on the way out. The memory
   * limit still holds: a message that cannot be copied out for lack of memory ends the console there.
   */
  private readConsole(consoleBytes: number): ScriptLog[] {
    const { context } = this;
    const read = (key: number | string): string | number | undefined => {
      const handle = context.getProp(this.consoleLines, key);
      const type = context.typeof(handle);
      return type === 'string' ? this.readString(handle) : type === 'number' ? context.getNumber(handle) : undefined;
    };
    const sink = new ConsoleSink(consoleBytes);
    const length = read('length');
    if (typeof length !== 'number') return sink.logs;
    for (let i = 0; i + 1 < length; i += 2) {
      const [level, message] = [read(i), read(i + 1)];
      if (message === undefined) {
        sink.truncate('memoryBytes');
        break;
      }
      if (typeof level === 'string' && LOG_LEVELS.has(level) && typeof message === 'string') sink.add(level as ScriptLog['level'], message);
      if (sink.full) break;
    }
    return sink.logs;
  }

  /**
   * A string handle's text, or undefined when it cannot be copied out: QuickJS needs memory (counted
   * against the script's limit) to convert non-ASCII text, and a failed conversion reads as ''.
   */
  private readString(handle: QuickJSHandle): string | undefined {
    const text = this.context.getString(handle);
    if (text !== '') return text;
    return this.context.getLength(handle) === 0 ? text : undefined;
  }

  /** Runs the script and main(); returns the outputs as JSON text or throws ScriptFailure / a handle error. */
  private execute(request: SandboxRequest): string {
    const { context, runtime } = this;
    const take = (result: { error?: QuickJSHandle; value?: QuickJSHandle }): QuickJSHandle => {
      if (result.error) {
        throw new HandleError(result.error);
      }
      return result.value as QuickJSHandle;
    };
    const source = request.language === 'typescript' ? stripTypes(request.source) : request.source;
    // The script's completion value is main itself: one evaluation instead of two, and evaluated
    // rather than read from the global object, so `const main = ...` is found too.
    const main = take(context.evalCode(`${source}${MAIN_LOOKUP}`, 'script.js', EVAL_OPTIONS));
    if (context.typeof(main) !== 'function') throw new ScriptFailure('main function is required in the script');
    const paramsText = context.newString(request.paramsJSON);
    const params = take(context.callFunction(this.parse, context.undefined, paramsText));
    const argument = context.newObject();
    context.setProp(argument, 'params', params);
    let value = take(context.callFunction(main, context.undefined, argument));
    for (;;) {
      const state = context.getPromiseState(value);
      if (state.type === 'fulfilled') {
        if (!state.notAPromise) {
          value = state.value;
        }
        break;
      }
      if (state.type === 'rejected') {
        throw new HandleError(state.error);
      }
      // Nothing outside the sandbox can settle a promise (no timers, no I/O), so no jobs means never.
      if (!runtime.hasPendingJob()) throw new ScriptFailure('main returned a promise that never settles');
      const jobs = runtime.executePendingJobs();
      if (jobs.error) {
        throw new HandleError(jobs.error);
      }
    }
    const json = take(context.callFunction(this.stringify, context.undefined, value));
    // What JSON drops (undefined, functions, symbols) gives no outputs.
    if (context.typeof(json) !== 'string') return '{}';
    // Every UTF-16 unit is at least one byte of UTF-8: a text this long is refused before it is copied out.
    if (context.getNumber(context.getProp(json, this.lengthKey)) > request.limits.outputBytes) throw new LimitFailure('outputBytes');
    const text = this.readString(json);
    if (text === undefined) throw new LimitFailure('memoryBytes');
    if (Buffer.byteLength(text) > request.limits.outputBytes) {
      throw new LimitFailure('outputBytes');
    }
    return text.charCodeAt(0) === 123 /* { */ ? text : `{"result":${text}}`;
  }

  private failure(error: unknown, limits: ScriptLimits): { ok: false; error: string; limit?: keyof ScriptLimits } {
    if (error instanceof LimitFailure) return { ok: false, error: limitExceededMessage(error.limit, limits), limit: error.limit };
    const scriptFailed = error instanceof HandleError || error instanceof ScriptFailure || error instanceof SyntaxError;
    // The WebAssembly module itself failed (or was stopped): do not trust it again as it is.
    if (!scriptFailed) this.usable = false;
    // Anything that failed after the deadline failed because of it (the interrupt surfaces as many errors).
    if (this.pastDeadline()) return { ok: false, error: limitExceededMessage('timeoutMs', limits), limit: 'timeoutMs' };
    if (error instanceof ScriptFailure || error instanceof SyntaxError) return { ok: false, error: error.message };
    if (!(error instanceof HandleError)) {
      // The thread's own stack can run out before QuickJS's stack limit does (deep recursion in C code).
      if (error instanceof RangeError && /call stack size/i.test(error.message)) {
        return { ok: false, error: limitExceededMessage('stackBytes', limits), limit: 'stackBytes' };
      }
      return { ok: false, error: `code: the sandbox failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    const described = this.describe(error.handle);
    if (this.pastDeadline()) return { ok: false, error: limitExceededMessage('timeoutMs', limits), limit: 'timeoutMs' };
    // Only running out of memory (or time, above) stops describe from answering.
    if (!described) return { ok: false, error: limitExceededMessage('memoryBytes', limits), limit: 'memoryBytes' };
    const { name, message, line } = described;
    if (name === 'InternalError' && message === 'out of memory') {
      return { ok: false, error: limitExceededMessage('memoryBytes', limits), limit: 'memoryBytes' };
    }
    if ((name === 'InternalError' || name === 'RangeError') && /stack overflow|call stack size/i.test(message)) {
      return { ok: false, error: limitExceededMessage('stackBytes', limits), limit: 'stackBytes' };
    }
    if (name === 'TypeError' && /circular/i.test(message)) {
      return { ok: false, error: `main returned a value that is not JSON (${message})` };
    }
    const at = line === undefined ? '' : ` (line ${line})`;
    return { ok: false, error: `${name === undefined || name === 'Error' ? message : `${name}: ${message}`}${at}` };
  }

  /** Name and message of a thrown value, read inside the sandbox under the script's limits (its getters are script code). */
  private describe(thrown: QuickJSHandle): { name: string | undefined; message: string; line: string | undefined } | undefined {
    const { context } = this;
    const call = (fn: QuickJSHandle, ...args: QuickJSHandle[]): string | undefined => {
      const result = context.callFunction(fn, context.undefined, ...args);
      const handle = result.error ?? result.value;
      return result.error || context.typeof(handle) !== 'string' ? undefined : this.readString(handle);
    };
    const message = call(this.describeThrown, thrown);
    return message === undefined ? undefined : { name: call(this.thrownName), message, line: call(this.thrownLine) };
  }
}

/** The WebAssembly.Memory API this file uses (the project's lib has no WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/**
 * A copy of the memory regions that hold QuickJS's state: static data, and the heap up to the highest
 * byte in use when the copy is taken. Restoring writes both back; memory above the copied heap is
 * free in the restored allocator's view (as in any freshly built runtime, free memory is not cleared).
 */
class MemorySnapshot {
  private readonly low: Uint8Array;
  private readonly heap: Uint8Array;

  constructor(
    private readonly memory: WasmMemory,
    private readonly layout: MemoryLayout,
  ) {
    const bytes = new Uint8Array(memory.buffer);
    let top = bytes.length;
    while (top > layout.heapBase && bytes[top - 1] === 0) top--;
    this.low = bytes.slice(0, layout.staticEnd);
    this.heap = bytes.slice(layout.heapBase, top);
  }

  restore(): void {
    // A fresh view each time: growing the memory replaces its buffer.
    const bytes = new Uint8Array(this.memory.buffer);
    bytes.set(this.low, 0);
    bytes.set(this.heap, this.layout.heapBase);
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
