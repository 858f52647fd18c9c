import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { instrumentPolling } from './wasm-polling.js';

/** A compiled WebAssembly.Module; opaque here, workers only hand it to quickjs-emscripten. */
export type CompiledWasm = object;

// The project's lib (ES2023, no DOM) has no WebAssembly types; compile is all this module needs.
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledWasm> };

/**
 * Where QuickJS keeps its state in WebAssembly memory (emscripten layout: static data, then the
 * stack growing down, then the heap). Between two calls the stack holds nothing alive, so the state
 * of a runtime and its contexts is `[0, staticEnd)` plus the heap from `heapBase` up.
 */
export interface MemoryLayout {
  /** End of static data (data segments and zero-initialised globals): where the stack's low end is. */
  staticEnd: number;
  /** Start of the heap: where the stack pointer starts. */
  heapBase: number;
}

export interface QuickJSBinary {
  module: CompiledWasm;
  layout: MemoryLayout;
}

/** emscripten's default stack size (5 MiB), with which this QuickJS build was linked; checked below. */
const STACK_SIZE = 5 * 1024 * 1024;
/** Zero-initialised globals after the data segments; QuickJS has a few KiB of them. */
const MAX_ZERO_GLOBALS = 64 * 1024;

let compiled: Promise<QuickJSBinary> | undefined;
let compiledPolling: Promise<QuickJSBinary> | undefined;

/**
 * QuickJS's WebAssembly module, compiled once per process, with its memory layout. Every sandbox
 * worker instantiates this one module (it travels in workerData) instead of reading and compiling
 * the file itself: workers start sooner and share one copy of the machine code.
 */
export function compiledQuickJS(): Promise<QuickJSBinary> {
  compiled ??= compile().catch((error: unknown) => {
    compiled = undefined;
    throw error;
  });
  return compiled;
}

/**
 * The same QuickJS rewritten to poll its host at every loop iteration and call (see wasm-polling.ts),
 * compiled once per process: the build the main thread tries short scripts in, where the host must be
 * able to stop any operation, not only those QuickJS interrupts itself.
 */
export function compiledPollingQuickJS(): Promise<QuickJSBinary> {
  compiledPolling ??= compile(instrumentPolling).catch((error: unknown) => {
    compiledPolling = undefined;
    throw error;
  });
  return compiledPolling;
}

async function compile(rewrite?: (bytes: Uint8Array) => Promise<Uint8Array>): Promise<QuickJSBinary> {
  const bytes = readFileSync(quickJSWasmFile());
  const layout = memoryLayout(bytes);
  return { module: await WebAssembly.compile(rewrite ? await rewrite(bytes) : bytes), layout };
}

/** The file of the variant the workers run (RELEASE_SYNC), resolved from quickjs-emscripten, which depends on it. */
export function quickJSWasmFile(): string {
  const quickjs = createRequire(import.meta.url).resolve('quickjs-emscripten');
  return createRequire(quickjs).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
}

/**
 * Reads the layout from the binary: the stack pointer's initial value (global 0) is the heap base,
 * the data segments end below the stack. Throws when the binary does not look like the emscripten
 * build this was written for: resetting by memory snapshot must never guess.
 */
export function memoryLayout(bytes: Uint8Array): MemoryLayout {
  const reader = new WasmReader(bytes);
  let heapBase: number | undefined;
  let dataEnd = 0;
  let stackSizeInCode = false;
  for (const section of reader.sections()) {
    if (section.id === 6) heapBase = reader.stackPointerInit(section.end);
    else if (section.id === 11) dataEnd = reader.dataEnd(section.end);
    else if (section.id === 10) stackSizeInCode = containsI32Const(bytes.subarray(reader.offset, section.end), STACK_SIZE);
  }
  if (heapBase === undefined) throw new Error('QuickJS wasm: no stack pointer global');
  const staticEnd = heapBase - STACK_SIZE;
  if (!stackSizeInCode || dataEnd > staticEnd || staticEnd - dataEnd > MAX_ZERO_GLOBALS) {
    throw new Error(`QuickJS wasm: unexpected memory layout (data ends at ${dataEnd}, stack pointer starts at ${heapBase})`);
  }
  return { staticEnd, heapBase };
}

/** Whether the code holds `i32.const value` (the linker writes the stack size into emscripten's stack setup). */
function containsI32Const(code: Uint8Array, value: number): boolean {
  const pattern = [0x41, ...signedLeb128(value)];
  outer: for (let i = 0; i + pattern.length <= code.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (code[i + j] !== pattern[j]) continue outer;
    return true;
  }
  return false;
}

function signedLeb128(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** Just enough of the WebAssembly binary format to read the sections the layout needs. */
class WasmReader {
  offset = 8; // after the magic number and version

  constructor(private readonly bytes: Uint8Array) {}

  *sections(): Generator<{ id: number; end: number }> {
    while (this.offset < this.bytes.length) {
      const id = this.bytes[this.offset++];
      const size = this.unsigned();
      const end = this.offset + size;
      yield { id, end };
      this.offset = end;
    }
  }

  /** Global 0 must be the mutable i32 stack pointer, initialised with an i32.const. */
  stackPointerInit(end: number): number | undefined {
    if (this.unsigned() === 0 || this.offset >= end) return undefined;
    const [type, mutable, opcode] = [this.bytes[this.offset++], this.bytes[this.offset++], this.bytes[this.offset++]];
    if (type !== 0x7f || mutable !== 1 || opcode !== 0x41) return undefined;
    return this.signed();
  }

  /** The end of the highest active data segment (offsets given as i32.const). */
  dataEnd(end: number): number {
    let highest = 0;
    const count = this.unsigned();
    for (let i = 0; i < count && this.offset < end; i++) {
      const flags = this.unsigned();
      if (flags !== 0 || this.bytes[this.offset++] !== 0x41) throw new Error('QuickJS wasm: unexpected data segment');
      const start = this.signed();
      this.offset++; // the `end` opcode of the offset expression
      const length = this.unsigned();
      this.offset += length;
      highest = Math.max(highest, start + length);
    }
    return highest;
  }

  private unsigned(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.bytes[this.offset++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  }

  private signed(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.bytes[this.offset++];
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    if (shift < 32 && byte & 0x40) result |= -1 << shift;
    return result;
  }
}
