/**
 * Scripts tried on the main thread before any worker is involved.
 *
 * A script is a pure function of its params: no I/O, no timers, no host objects, Math.random seeded
 * per execution. So it can be run once here, in a sandbox of its own (a QuickJS context restored from
 * the memory snapshot after every attempt, exactly like a worker's), under a small CPU budget and a
 * small memory cap; when it does not finish within them, the attempt is thrown away (its logs and
 * result with it) and the script runs again on a worker with its full limits. Short scripts, nearly
 * all of them, never pay a thread hop; long or hostile ones still run off the main thread, where they
 * can be killed.
 *
 * The budget must hold for every operation, not only those QuickJS interrupts itself (its interpreter
 * polls, but a join over a sparse array, a typed-array sort or an array method on an array-like of
 * length 2^53 loop in C without ever looking). So this sandbox runs the polling build of QuickJS
 * (wasm-polling.ts): every loop iteration and call counts, and every POLL_EVERY of them the host looks
 * at the clock and, past the budget, throws straight through the WebAssembly frames. The module is
 * then put back (stack pointer, then memory from the snapshot) and the script goes to a worker.
 *
 * The memory cap is the WebAssembly memory's own maximum; a refused growth marks the attempt, since a
 * script may catch the out-of-memory error it gets and answer something else than it would with its
 * real limit.
 */
import { newQuickJSWASMModule, newVariant, RELEASE_SYNC } from 'quickjs-emscripten';
import { DEFAULT_CODE_LIMITS } from './limits.js';
import { QuickJSSandbox, type SandboxRequest, type SandboxResult } from './quickjs-sandbox.js';
import { compiledPollingQuickJS, type CompiledWasm } from './quickjs-wasm.js';
import { POLL_FUNCTION, POLL_MODULE, STACK_POINTER_EXPORT } from './wasm-polling.js';

/** CPU time a script may take on the main thread before it goes to a worker (ms). */
export const INLINE_BUDGET_MS = 1;
/**
 * Room an attempt needs in the current time slice (ms, see engine/slices.ts): its budget, what runs
 * past it until the next look at the clock (under 0.1 ms) and the restore of the snapshot (µs). With
 * less left, it waits for the next slice, so an attempt does not stretch one; unwinding a recursion
 * stopped thousands of calls deep can still add up to ~0.7 ms.
 */
export const INLINE_SLICE_MS = INLINE_BUDGET_MS + 0.5;
/** Heap a script may use on the main thread before it goes to a worker (bytes). */
export const INLINE_MEMORY_BYTES = 8 * 1024 * 1024;
/**
 * Source and params larger than this (UTF-16 units) go straight to a worker: copying them in and the
 * outputs out is work the budget does not see.
 */
export const INLINE_MAX_INPUT = 64 * 1024;
/**
 * Counted points (loop iterations, calls) between two looks at the clock: tens of µs of work, up to
 * ~0.2 ms in a deep recursion (a look costs ~0.1 µs). At 5,000 an attempt overran its budget by up to
 * half a ms, which the host's time slice must leave room for.
 */
const POLL_EVERY = 1_000;
/**
 * Run once when the sandbox is made: WebAssembly functions are compiled on their first call, on this
 * thread, and the first regex, sort or failure would otherwise pay tens of ms inside a script's budget.
 */
const WARM_UP = [
  'async function main({ params }) { await null; console.log("x", [1], { a: 1 }); return { v: params.x + Math.random() } }',
  'function main() { const s = "ab".repeat(50); return [/(a|b)+c?$/.test(s), s.replace(/a/g, "c").split("c").join("-").length, [3, 1, 2].sort(), new Float64Array([3, 1, 2]).sort()[0], JSON.parse(JSON.stringify({ a: [1, "x", null] })), 2n ** 70n + ""] }',
  'function main() { return Promise.all([1, 2].map(async (n) => n * 2)).then((v) => new Map([[1, v]]).size) }',
  'function main() { throw new TypeError("warm") }',
  'function main() { return nope( }',
];

const WARM_UP_LIMITS = { ...DEFAULT_CODE_LIMITS, timeoutMs: 10_000 };

const PAGE = 64 * 1024;
/** The memory the QuickJS build starts with (its static data, stack and an empty heap), as in a worker. */
const BASE_MEMORY = 16 * 1024 * 1024;

// The project's lib (ES2023, no DOM) has no WebAssembly types: the parts used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  value: number;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Instance: new (module: CompiledWasm, imports: Record<string, Record<string, unknown>>) => WasmInstance;
};

/** Bytes of memory touched per turn of the event loop while the sandbox is made (about a ms of page faults). */
const TOUCH_CHUNK = 2 * 1024 * 1024;
const OS_PAGE = 4096;

/**
 * Writes every OS page of the memory once (each byte keeps its value), so that the OS backs it now:
 * a script that first touches a stretch of it (a 16 MB typed array, a deep recursion through the
 * stack) would otherwise pay the page faults inside its budget, ms at a time (a memset of 16 MB over
 * fresh pages takes 8 ms, over backed ones under 1 ms).
 */
async function touchEveryPage(memory: WasmMemory): Promise<void> {
  const bytes = new Uint8Array(memory.buffer);
  for (let start = 0; start < bytes.length; start += TOUCH_CHUNK) {
    const end = Math.min(bytes.length, start + TOUCH_CHUNK);
    for (let at = start; at < end; at += OS_PAGE) bytes[at] = bytes[at];
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Thrown by the poll once the budget is spent; it unwinds every WebAssembly frame of the attempt. */
class BudgetSpent extends Error {}

export class InlineQuickJS {
  /** A growth of the memory was refused during the current attempt. */
  private capReached = false;

  private constructor(private readonly sandbox: QuickJSSandbox) {}

  /** Attempts that finished here, and those handed to a worker (for benchmarks and tests). */
  readonly counts = { inline: 0, escalated: 0 };

  static async create(): Promise<InlineQuickJS> {
    const { module, layout } = await compiledPollingQuickJS();
    // All of it from the start: growing it inside a script would cost that script page faults (ms for a
    // few MiB) and the process a garbage collection (V8 counts the growth as external memory).
    const pages = (BASE_MEMORY + INLINE_MEMORY_BYTES) / PAGE;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    // Filled in below; the memory and the poll are made before them and reach them through this.
    const made: { sandbox?: QuickJSSandbox; inline?: InlineQuickJS } = {};
    const grow = memory.grow.bind(memory);
    memory.grow = (pages) => {
      try {
        return grow(pages);
      } catch (error) {
        if (made.inline) made.inline.capReached = true;
        throw error;
      }
    };
    const poll = (): number => {
      if (made.sandbox?.pastDeadline()) throw new BudgetSpent('the inline budget is spent');
      return POLL_EVERY;
    };
    let stackPointer: WasmGlobal | undefined;
    const quickjs = await newQuickJSWASMModule(
      newVariant(RELEASE_SYNC, {
        wasmMemory: memory as never,
        emscriptenModule: {
          instantiateWasm(imports, onSuccess) {
            const instance = new WebAssembly.Instance(module, { ...(imports as Record<string, Record<string, unknown>>), [POLL_MODULE]: { [POLL_FUNCTION]: poll } });
            stackPointer = instance.exports[STACK_POINTER_EXPORT] as WasmGlobal;
            onSuccess(instance as never);
            return instance.exports as never;
          },
        },
      }),
    );
    if (!stackPointer) throw new Error('the polling QuickJS build was not instantiated');
    const exported = stackPointer;
    const sandbox = new QuickJSSandbox(quickjs, layout, {
      // Between two calls the stack is empty: the pointer is back at its start, the heap base.
      recover: () => {
        exported.value = layout.heapBase;
      },
    });
    made.sandbox = sandbox;
    made.inline = new InlineQuickJS(sandbox);
    await touchEveryPage(memory);
    for (const source of WARM_UP) sandbox.run({ language: 'javascript', source, paramsJSON: '{"x":1}', limits: WARM_UP_LIMITS });
    return made.inline;
  }

  /**
   * Runs `request` here when it fits the budget and the cap; undefined when it must run on a worker
   * (nothing of the attempt is kept then). A failure the script itself caused (it threw, returned a
   * promise that never settles, a syntax error) is an answer: a worker would give the same.
   */
  try(request: SandboxRequest): SandboxResult | undefined {
    if (!this.suits(request)) return this.escalate();
    const { limits } = request;
    this.capReached = false;
    const result = this.sandbox.attempt({ ...request, limits: { ...limits, timeoutMs: Math.min(limits.timeoutMs, INLINE_BUDGET_MS) } });
    const stopped = !this.sandbox.usable;
    this.sandbox.reset();
    if (stopped || this.capReached || (!result.ok && result.limit !== undefined)) return this.escalate();
    this.counts.inline++;
    return result;
  }

  /** Whether `request` is tried here at all (otherwise it goes straight to a worker). */
  suits(request: SandboxRequest): boolean {
    // TypeScript's types are stripped by a compiler that takes ms to load and run: a worker's work.
    return request.language === 'javascript' && request.source.length + request.paramsJSON.length <= INLINE_MAX_INPUT && this.sandbox.usable;
  }

  private escalate(): undefined {
    this.counts.escalated++;
    return undefined;
  }
}
