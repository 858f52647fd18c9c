/**
 * One Python interpreter (pyodide) in a worker thread, run by the shared WorkerPool; one script at a
 * time. The pool ends this worker on timeout or cancel; it asks to be retired itself after a heap cap
 * hit, a fatal interpreter error, or a script that changed state shared between runs.
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { loadPyodide, type PyodideAPI } from 'pyodide';
import { limitExceededMessage, type ScriptLimits } from '../limits.js';
import type { ScriptLog } from '../types.js';
import { WORKER_READY, type WorkerJobMessage, type WorkerReplyMessage } from '../worker-pool.js';
import { HARNESS_SOURCE } from './harness.js';
import type { HarnessResult, InterpreterInit, InterpreterRequest, InterpreterResult } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('python worker must run in a worker thread');
const init = workerData as InterpreterInit;

// The heap cap: the wasm memory may not grow past it while a script runs. A refused growth becomes a
// MemoryError inside Python, so the interpreter answers instead of dying; then it is retired.
let heapCapBytes = Number.POSITIVE_INFINITY;
let growthRefused = false;
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
// The project's lib (ES2023, no DOM) has no WebAssembly types; Memory.prototype.grow is all we need.
declare const WebAssembly: { Memory: { prototype: WasmMemory } };
const grow = WebAssembly.Memory.prototype.grow;
WebAssembly.Memory.prototype.grow = function capGrowth(this: WasmMemory, pages: number): number {
  if (this.buffer.byteLength + pages * 65_536 > heapCapBytes) {
    growthRefused = true;
    throw new RangeError('heap cap reached');
  }
  return grow.call(this, pages);
};

type PythonFunction = ((...args: string[]) => string) & { destroy(): void };

const TRUNCATED_NOTICE: ScriptLog = { level: 'warning', message: 'console output truncated (consoleBytes limit reached)' };

function heapBytes(pyodide: PyodideAPI): number {
  // `_module` is the Emscripten module; its heap view is the only size pyodide exposes.
  return (pyodide as unknown as { _module: { HEAP8: Int8Array } })._module.HEAP8.byteLength;
}

/** Leaves nothing of Node in the worker's global scope for a script that reached JavaScript anyway. */
function scrubGlobals(): void {
  // Nothing from inside reaches the host's console either (pyodide reports fatal errors there).
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) console[method] = () => {};
  const global = globalThis as Record<string, unknown>;
  for (const name of ['process', 'fetch', 'WebSocket', 'Request', 'Response', 'Headers', 'FormData', 'EventSource', 'require', 'module', 'Buffer', 'navigator']) {
    try {
      delete global[name];
    } catch {
      // a non-configurable global stays; none of the dangerous ones is
    }
  }
}

/**
 * Takes code generation from strings away (eval, and Function and its async/generator kin reached as
 * `fn.constructor`): code built that way could still `import()` Node modules, even with the globals gone.
 * Runs after pyodide has started; it needs neither at run time.
 */
function disableCodeGeneration(): void {
  const refuse = function refuse(): never {
    throw new EvalError('code generation is disabled in the Python sandbox');
  };
  const kinds = [function () {}, async function () {}, function* () {}, async function* () {}];
  for (const kind of kinds) {
    Object.defineProperty(Object.getPrototypeOf(kind), 'constructor', { value: refuse, writable: false, configurable: false });
  }
  for (const name of ['eval', 'Function']) {
    Object.defineProperty(globalThis, name, { value: refuse, writable: false, configurable: false });
  }
}

/** The harness's answer as a runner result; limit failures are worded as for JavaScript. */
function toResult(answer: HarnessResult, limits: ScriptLimits): InterpreterResult {
  const logs: ScriptLog[] = answer.logs.map((message) => ({ level: 'log', message }));
  if (answer.truncated) logs.push(TRUNCATED_NOTICE);
  if (answer.ok) return { ok: true, value: answer.value, logs };
  if (!answer.limit) return { ok: false, error: answer.error, logs };
  const named = limitExceededMessage(answer.limit, limits);
  // A RecursionError carries the script's line; the other limits have nothing to add.
  return { ok: false, error: answer.limit === 'stackBytes' ? `${named}: ${answer.error}` : named, limit: answer.limit, logs };
}

function runScript(run: PythonFunction, request: InterpreterRequest, baseline: number): { result: InterpreterResult; retire: boolean } {
  const { limits } = request;
  heapCapBytes = baseline + limits.memoryBytes;
  growthRefused = false;
  let answer: HarnessResult;
  let retire = false;
  try {
    answer = JSON.parse(run(request.source, request.paramsJSON, JSON.stringify(limits))) as HarnessResult;
  } catch (error) {
    // Only a fatal interpreter error gets here (the harness catches every Python exception), most
    // often the JavaScript stack overflowing under deep C recursion; the interpreter is unusable.
    retire = true;
    answer =
      error instanceof RangeError && /call stack/i.test(error.message)
        ? { ok: false, error: 'RecursionError: stack overflow', limit: 'stackBytes', logs: [] }
        : { ok: false, error: `code: the Python interpreter failed (${error instanceof Error ? error.message : String(error)})`, logs: [] };
  } finally {
    heapCapBytes = Number.POSITIVE_INFINITY;
  }
  if (growthRefused) {
    // Even if the script caught its MemoryError: the cap was hit, and the heap stays grown.
    retire = true;
    answer = { ok: false, error: 'MemoryError', limit: 'memoryBytes', logs: answer.logs };
  }
  if (answer.tainted) retire = true;
  return { result: toResult(answer, limits), retire };
}

/**
 * Starts pyodide: from the pool's memory image when there is one (about 3x faster), else from scratch,
 * then making that image (allowed modules already imported) for the interpreters started after it.
 * The image holds only a fresh interpreter, taken before the harness runs and before any script.
 */
async function startInterpreter(): Promise<{ pyodide: PyodideAPI; snapshot?: SharedArrayBuffer }> {
  const config = {
    // Explicit: pyodide guesses its folder from a stack trace, which a loader (tsx) can change.
    indexURL: dirname(createRequire(import.meta.url).resolve('pyodide/package.json')) + sep,
    // An empty object instead of globalThis: `import js` would otherwise be the worker's global scope.
    jsglobals: {},
    env: { HOME: '/home/pyodide' },
    args: [],
    stdout: () => {},
    stderr: () => {},
    stdin: () => null,
  };
  if (init.snapshot) {
    try {
      return { pyodide: await loadPyodide({ ...config, _loadSnapshot: new Uint8Array(init.snapshot) }) };
    } catch {
      // An image this build cannot read: start from scratch instead.
    }
  }
  const pyodide = await loadPyodide({ ...config, _makeSnapshot: true });
  pyodide.runPython(`
import ast, json, opcode
for name in json.loads(${JSON.stringify(JSON.stringify(init.allowedModules))}):
    try:
        __import__(name)
    except ImportError:
        pass
del name
`);
  const image = pyodide.makeMemorySnapshot();
  const snapshot = new SharedArrayBuffer(image.byteLength);
  new Uint8Array(snapshot).set(image);
  return { pyodide, snapshot };
}

const started = performance.now();
const { pyodide, snapshot } = await startInterpreter();
pyodide.runPython(HARNESS_SOURCE);
const configure = pyodide.globals.get('_flowgram_configure') as PythonFunction;
const run = pyodide.globals.get('_flowgram_run') as PythonFunction;
configure(JSON.stringify(init.allowedModules));
configure.destroy();
// The harness functions stay reachable only from here: drop their names from Python's __main__.
pyodide.runPython('del _flowgram_configure, _flowgram_run');
scrubGlobals();
disableCodeGeneration();
const baseline = heapBytes(pyodide);
const coldStartMs = performance.now() - started;
let first = true;

port.on('message', (message: WorkerJobMessage<InterpreterRequest>) => {
  const { result, retire } = runScript(run, message.request, baseline);
  result.heapBytes = heapBytes(pyodide);
  if (first) {
    first = false;
    result.coldStartMs = coldStartMs;
    if (snapshot) result.snapshot = snapshot;
  }
  const reply: WorkerReplyMessage<InterpreterResult> = { id: message.id, result };
  if (retire) reply.retire = true;
  port.postMessage(reply);
});
port.postMessage(WORKER_READY);
