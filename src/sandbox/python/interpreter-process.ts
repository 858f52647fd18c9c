/**
 * One Python interpreter (pyodide) in a child process of its own: the program `./process.ts` starts
 * with no permissions (Node's permission model: it may read pyodide's files and nothing else), no
 * environment, no network, no code generation from strings, as an unprivileged user where it can.
 * Those are the wall; this file only keeps the interpreter honest inside it:
 * - every execution starts from the same interpreter: the wasm memory is written back to the copy
 *   taken after start-up once a script has answered (so it costs nothing on the request path);
 * - what restores it was captured before any script ran, so a script that reaches JavaScript
 *   cannot switch the restore off by patching prototypes;
 * - JavaScript objects are not in that memory: a script that touched one is answered, and then the
 *   process asks to be replaced;
 * - nothing of Node is left in the global scope for such a script (no fetch, no process.binding).
 *
 * Messages (IPC, advanced serialization): the parent sends one `init`, then `job`s one at a time; this
 * process answers `ready` (WORKER_READY) once, then one reply per job (WorkerReplyMessage) carrying the
 * harness's answer as it is; the runner words it (./index.ts).
 * It imports nothing of the project at run time: it runs from its own source text, not from a file.
 */
import { constants as fsConstants } from 'node:fs';
import type { WorkerJobMessage, WorkerReplyMessage } from '../worker-pool.js';
import type { HarnessResult, InterpreterInit, InterpreterRequest, InterpreterResult } from './protocol.js';

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmInstance {
  exports: Record<string, unknown>;
}
// The project's lib (ES2023, no DOM) has no WebAssembly types; these are the parts used here.
declare const WebAssembly: {
  Memory: { prototype: WasmMemory };
  Instance: new (...args: never[]) => WasmInstance;
  instantiate(...args: unknown[]): Promise<WasmInstance | { instance: WasmInstance }>;
};
type PythonFunction = ((...args: string[]) => string) & { destroy(): void };
interface Pyodide {
  runPython(code: string): unknown;
  globals: { get(name: string): unknown };
  makeMemorySnapshot(): Uint8Array;
  _module: { _hiwire_num_refs(): number; HEAP8: Int8Array };
}
interface PyodideModule {
  loadPyodide(config: Record<string, unknown>): Promise<Pyodide>;
}

// ---- primordials, captured before any script can touch them --------------------------------------
const apply = Reflect.apply;
const setBytes = Uint8Array.prototype.set;
const fillBytes = Uint8Array.prototype.fill;
const subarray = Uint8Array.prototype.subarray;
const mapGet = Map.prototype.get;
const mapSet = Map.prototype.set;
const mapClear = Map.prototype.clear;
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size')?.get as (this: Map<unknown, unknown>) => number;
const memoryBuffer = Object.getOwnPropertyDescriptor(WebAssembly.Memory.prototype, 'buffer')?.get as (this: WasmMemory) => ArrayBuffer;
const byteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')?.get as (this: ArrayBuffer) => number;
const grow = WebAssembly.Memory.prototype.grow;
const parseJSON = JSON.parse;
const stringifyJSON = JSON.stringify;
const now = performance.now.bind(performance);
if (!process.send) throw new Error('the Python interpreter process needs an IPC channel');
const send: NonNullable<typeof process.send> = process.send.bind(process);
const onMessage = process.on.bind(process);
const exit = process.exit.bind(process);
const residentBytes = process.memoryUsage.rss.bind(process.memoryUsage);

const pyodideDir = process.argv[1];
if (!pyodideDir) throw new Error('usage: interpreter-process <pyodide directory>');

/**
 * The wasm memories instantiated while pyodide loads (it does not export its own); the one Python
 * lives in is picked once it has loaded. Both ways of instantiating are watched.
 */
const memories: WasmMemory[] = [];
function noteMemory(instance: WasmInstance): void {
  const exported = instance.exports.memory as WasmMemory | undefined;
  if (exported) memories.push(exported);
}

/**
 * Whether Python touched a JavaScript object since it was last cleared. pyodide's interpreter reaches
 * JavaScript only through the functions it imports; those that read, write, call or convert JavaScript
 * objects are wrapped as it is instantiated, so using one sets this flag from a closure no script can
 * reach. The few the harness itself needs to receive its arguments and answer are left out.
 */
let touchedJavaScript = false;
const JAVASCRIPT_IMPORT = /^(Jsv|JsProxy|JsArray|JsBuffer|JsDoubleProxy|JsException|JsMap|JsModule|JsObjMap|_JsArray|_JsObject|__hiwire|_agen|_pyproxy|array_to_js|create_|destroy_|js2python|_python2js|python2js)/;
const HARNESS_IMPORTS = new Set(['JsvArray_Get', 'JsvError_Check', 'JsvNoValue_Check', 'js2python_js', '_python2js_ascii', '_python2js_ucs1', '_python2js_ucs2', '_python2js_ucs4']);
function watchJavaScriptImports(imports: unknown): void {
  const env = (imports as { env?: Record<string, unknown> } | undefined)?.env;
  if (!env || typeof env.JsProxy_GetAttr_js !== 'function') return;
  for (const name of Object.keys(env)) {
    const original = env[name];
    if (typeof original !== 'function' || !JAVASCRIPT_IMPORT.test(name) || HARNESS_IMPORTS.has(name)) continue;
    env[name] = function touching(this: unknown, ...args: unknown[]): unknown {
      touchedJavaScript = true;
      return apply(original as (...values: unknown[]) => unknown, this, args);
    };
  }
}

const instantiate = WebAssembly.instantiate;
const Instance = WebAssembly.Instance;
WebAssembly.instantiate = async function noteInstance(...args: unknown[]) {
  watchJavaScriptImports(args[1]);
  const made = await apply(instantiate, WebAssembly, args);
  noteMemory('instance' in made ? made.instance : made);
  return made;
};
WebAssembly.Instance = new Proxy(Instance, {
  construct(target, args, newTarget) {
    watchJavaScriptImports(args[1]);
    const instance = Reflect.construct(target, args, newTarget) as WasmInstance;
    noteMemory(instance);
    return instance;
  },
});

// The heap cap: the wasm memory may not grow past it while a script runs. A refused growth becomes a
// MemoryError inside Python, so the interpreter answers; the restore then undoes what it allocated.
let heapCapBytes = Number.POSITIVE_INFINITY;
let growthRefused = false;
WebAssembly.Memory.prototype.grow = function capGrowth(this: WasmMemory, pages: number): number {
  if (apply(byteLength, apply(memoryBuffer, this, []), []) + pages * 65_536 > heapCapBytes) {
    growthRefused = true;
    throw new RangeError('heap cap reached');
  }
  return apply(grow, this, [pages]);
};

// pyodide's Node file system asks for `process.binding('constants').fs`, the one binding it needs;
// the real process.binding is refused under the permission model anyway.
Object.defineProperty(process, 'binding', {
  value: (name: string) => {
    if (name === 'constants') return { fs: fsConstants };
    throw new Error(`process.binding(${name}) is not available in the Python sandbox`);
  },
});

/** Leaves nothing in the global scope that reaches the network or the host, for a script that reached JavaScript. */
function scrubGlobals(): void {
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) console[method] = () => {};
  const global = globalThis as Record<string, unknown>;
  for (const name of ['fetch', 'WebSocket', 'Request', 'Response', 'Headers', 'FormData', 'EventSource', 'require', 'module', 'Buffer', 'navigator']) {
    try {
      delete global[name];
    } catch {
      // a non-configurable global stays; none of the dangerous ones is
    }
  }
  for (const name of ['getBuiltinModule', 'dlopen', 'binding', '_linkedBinding', 'openStdin', 'kill', 'chdir', 'setuid', 'setgid', 'setgroups', 'setegid', 'seteuid']) {
    try {
      Object.defineProperty(process, name, { value: undefined });
    } catch {
      // as above
    }
  }
}

/** Scripts whose compiled code is kept (then the cache starts over), and the longest source kept. */
const MAX_CACHED_SCRIPTS = 256;
const MAX_CACHED_SOURCE = 64 * 1024;

/** Bytes in a zero run worth filling instead of copying. */
const ZERO_RUN_BYTES = 64 * 1024;

/** [start, end, start, end, …] of the stretches of `bytes` that are zeros, in ZERO_RUN_BYTES blocks. */
function zeroRunsOf(bytes: Uint8Array): number[] {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  const blockWords = ZERO_RUN_BYTES >>> 2;
  const runs: number[] = [];
  for (let block = 0; block + blockWords <= words.length; block += blockWords) {
    let zero = true;
    for (let i = block; i < block + blockWords; i++) {
      if (words[i] !== 0) {
        zero = false;
        break;
      }
    }
    if (!zero) continue;
    const start = block << 2;
    if (runs.length > 0 && runs[runs.length - 1] === start) runs[runs.length - 1] = start + ZERO_RUN_BYTES;
    else runs.push(start, start + ZERO_RUN_BYTES);
  }
  return runs;
}

async function startInterpreter(init: InterpreterInit): Promise<{ pyodide: Pyodide; image?: Uint8Array }> {
  const { loadPyodide } = (await import(new URL('pyodide.mjs', `file://${pyodideDir}/`).href)) as PyodideModule;
  const config = {
    indexURL: pyodideDir.endsWith('/') ? pyodideDir : `${pyodideDir}/`,
    // An empty object instead of globalThis: `import js` would otherwise be this process's global scope.
    jsglobals: {},
    env: { HOME: '/home/pyodide' },
    args: [],
    stdout: () => {},
    stderr: () => {},
    stdin: () => null,
  };
  if (init.image) {
    try {
      // A copy: the image arrives as a view at any offset of the message's buffer, and pyodide reads it in 4-byte words.
      return { pyodide: await loadPyodide({ ...config, _loadSnapshot: new Uint8Array(init.image) }) };
    } catch {
      // An image this build cannot read: start from scratch instead.
    }
  }
  const pyodide = await loadPyodide({ ...config, _makeSnapshot: true });
  pyodide.runPython(`
import ast, json, opcode
def _warm(names):
    for name in names:
        try:
            __import__(name)
        except ImportError:
            pass
_warm(json.loads(${stringifyJSON(stringifyJSON(init.allowedModules))}))
del _warm
`);
  // Taken before the harness and before any script: it holds only a freshly started interpreter.
  return { pyodide, image: pyodide.makeMemorySnapshot() };
}

async function serve(init: InterpreterInit & { harness: string }): Promise<void> {
  const started = now();
  const { pyodide, image } = await startInterpreter(init);
  WebAssembly.instantiate = instantiate;
  WebAssembly.Instance = Instance;
  // The restore writes to this memory: it must be the one Python lives in.
  const wasm = memories.find((candidate) => apply(memoryBuffer, candidate, []) === pyodide._module.HEAP8.buffer);
  memories.length = 0;
  if (!wasm) throw new Error('the interpreter memory was not found');
  pyodide.runPython(init.harness);
  const configure = pyodide.globals.get('_flowgram_configure') as PythonFunction;
  const compile = pyodide.globals.get('_flowgram_compile') as PythonFunction;
  const run = pyodide.globals.get('_flowgram_run') as PythonFunction;
  configure(stringifyJSON(init.allowedModules));
  configure.destroy();
  // The harness functions stay reachable only from here: drop their names from Python's __main__.
  pyodide.runPython('del _flowgram_configure, _flowgram_compile, _flowgram_run');

  /**
   * Compiled scripts by source. The memory restore forgets whatever Python cached, so the checked and
   * compiled code is kept here instead; it is made before any script code runs, so no script shapes it.
   */
  const compiledBySource = new Map<string, string>();
  function compiledFor(source: string): string {
    let compiled = apply(mapGet, compiledBySource, [source]) as string | undefined;
    if (compiled !== undefined) return compiled;
    compiled = compile(source);
    if (source.length <= MAX_CACHED_SOURCE) {
      if (apply(mapSize, compiledBySource, []) >= MAX_CACHED_SCRIPTS) apply(mapClear, compiledBySource, []);
      apply(mapSet, compiledBySource, [source, compiled]);
    }
    return compiled;
  }
  const countRefs = pyodide._module._hiwire_num_refs;
  scrubGlobals();
  // One trusted run first, so what the interpreter sets up lazily is in the copy, not redone per script.
  run(compiledFor('def main(p):\n    return p'), '{"warm":[1,"a",1.5,null,true]}', stringifyJSON({ timeoutMs: 1000, memoryBytes: 1 << 24, stackBytes: 1 << 20, outputBytes: 1 << 16, consoleBytes: 1 << 16 }));
  const pristine = new Uint8Array(apply(memoryBuffer, wasm, []).slice(0));
  const pristineBytes = pristine.length;
  const pristineRefs = countRefs();
  const zeroRuns = zeroRunsOf(pristine);
  const coldStartMs = now() - started;

  /**
   * Writes the copy back: the next script finds the interpreter exactly as it was after start-up.
   * Stretches that were all zeros (unused stack, the heap above its top) are zeroed instead of copied:
   * writing without reading is faster, and the result is the same bytes.
   */
  function restore(): void {
    const heap = new Uint8Array(apply(memoryBuffer, wasm, []));
    let copied = 0;
    for (let i = 0; i < zeroRuns.length; i += 2) {
      const start = zeroRuns[i] as number;
      const end = zeroRuns[i + 1] as number;
      if (start > copied) apply(setBytes, heap, [apply(subarray, pristine, [copied, start]), copied]);
      apply(fillBytes, heap, [0, start, end]);
      copied = end;
    }
    if (copied < pristineBytes) apply(setBytes, heap, [apply(subarray, pristine, [copied]), copied]);
    // Memory grown since is free again for the allocator, and must hold nothing of this run.
    if (heap.length > pristineBytes) apply(fillBytes, heap, [0, pristineBytes]);
  }

  let first = true;
  onMessage('message', (message: WorkerJobMessage<InterpreterRequest>) => {
    const { limits } = message.request;
    heapCapBytes = pristineBytes + limits.memoryBytes;
    growthRefused = false;
    touchedJavaScript = false;
    let answer: HarnessResult;
    let retire = false;
    try {
      answer = parseJSON(run(compiledFor(message.request.source), message.request.paramsJSON, stringifyJSON(limits))) as HarnessResult;
    } catch (error) {
      // Only a fatal interpreter error gets here (the harness catches every Python exception), most
      // often the JavaScript stack overflowing under deep C recursion: the wasm stack pointer is lost.
      retire = true;
      answer =
        error instanceof RangeError && /call stack/i.test(error.message)
          ? { ok: false, error: 'RecursionError: stack overflow', limit: 'stackBytes', logs: [] }
          : { ok: false, error: `code: the Python interpreter failed (${error instanceof Error ? error.message : String(error)})`, logs: [] };
    } finally {
      heapCapBytes = Number.POSITIVE_INFINITY;
    }
    // Even if the script caught its MemoryError: the cap was hit.
    if (growthRefused) answer = { ok: false, error: 'MemoryError', limit: 'memoryBytes', logs: answer.logs };
    // A script that touched a JavaScript object, or still holds one, got past the harness: JavaScript
    // state is not in the copy, so this process is not trusted with another script.
    if (touchedJavaScript || countRefs() !== pristineRefs) retire = true;
    const result: InterpreterResult = { answer };
    result.heapBytes = apply(byteLength, apply(memoryBuffer, wasm, []), []);
    result.rssBytes = residentBytes();
    if (first) {
      first = false;
      result.coldStartMs = coldStartMs;
      if (image) result.image = image;
    }
    const reply: WorkerReplyMessage<InterpreterResult> = { id: message.id, result };
    if (retire) reply.retire = true;
    send(reply);
    // A retired process is killed by the pool; it takes no other job meanwhile.
    if (!retire) restore();
  });
  send('ready');
}

onMessage('message', function first(message: InterpreterInit & { harness: string }) {
  process.off('message', first);
  serve(message).catch((error: unknown) => {
    // Its output goes nowhere: the reason travels as a message, and the pool reports it.
    send({ startFailed: error instanceof Error ? error.message : String(error) }, undefined, undefined, () => exit(70));
  });
});
