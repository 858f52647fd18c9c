/**
 * A WebAssembly binary rewritten so that it polls its host: every function entry and every loop
 * iteration counts a budget down, and when it reaches zero the code calls an imported function
 * (`flowgram.poll`, `() -> i32`) that either answers the next budget or throws. A JavaScript exception
 * thrown by an import unwinds every WebAssembly frame above it, so the host can stop the module
 * anywhere, including inside C loops that never return to the code's own checks (QuickJS's join over a
 * sparse array, a typed-array sort, a search through an array-like of length 2^53).
 *
 * Why this bounds the time between two polls: between two counted points the code runs straight-line
 * code of one function (every loop iteration and every call is counted), so a budget of N units is at
 * most N such stretches. The one kind of instruction whose cost has no such bound, bulk memory
 * (memory.fill and memory.copy: one instruction for a whole memset or memcpy), is charged by its
 * length, one unit per BULK_BYTES_PER_UNIT bytes, and checked before it runs.
 *
 * The rewrite also exports the stack pointer (global 0 in an emscripten build, see quickjs-wasm.ts):
 * a module stopped mid-call leaves it wherever it was, and the host puts it back before using the
 * module again. Custom sections (names, debug info) are dropped: function indices shift by one.
 *
 * Only the instructions this project's QuickJS build uses are understood (MVP, sign extension,
 * saturating truncation, bulk memory, reference types); anything else throws, so the rewrite never
 * guesses.
 */

export const POLL_MODULE = 'flowgram';
export const POLL_FUNCTION = 'poll';
export const STACK_POINTER_EXPORT = 'flowgram_stack_pointer';

const SECTION = { custom: 0, type: 1, import: 2, function: 3, global: 6, export: 7, start: 8, element: 9, code: 10 } as const;
const KIND = { function: 0, table: 1, memory: 2, global: 3 } as const;
const I32 = 0x7f;
/** Bytes of memory.fill / memory.copy charged as one counted point (a point is some ns of work; so are 16 bytes). */
const BULK_SHIFT = 4;

/** Longest stretch of rewriting (ms) before the event loop gets a turn: the rewrite takes tens of ms in all. */
const REWRITE_SLICE_MS = 2;

/**
 * Rewrites `bytes` (a WebAssembly module) to poll as described above. Asynchronous only so that it
 * never holds the event loop for long: it pauses between slices of functions.
 */
export async function instrumentPolling(bytes: Uint8Array): Promise<Uint8Array> {
  const sections = readSections(bytes);
  const find = (id: number) => sections.find((section) => section.id === id);
  const types = find(SECTION.type);
  const imports = find(SECTION.import);
  const globals = find(SECTION.global);
  const exports = find(SECTION.export);
  const code = find(SECTION.code);
  if (!types || !imports || !globals || !exports || !code) throw new Error('wasm polling: the module lacks a section it needs');

  const { payload: typePayload, pollType } = withPollType(bytes, types);
  const { payload: importPayload, functionImports, globalImports } = withPollImport(bytes, imports, pollType);
  const { payload: globalPayload, fuelGlobal, scratchGlobal } = withFuelGlobals(bytes, globals, globalImports);
  // Defined functions move up by one: the poll import takes the first index after the imported ones.
  const shift = (index: number): number => (index >= functionImports ? index + 1 : index);
  const check = pollCheck(fuelGlobal, functionImports);
  const bulkCharge = chargeBulk(fuelGlobal, scratchGlobal, functionImports);

  const out = new ByteWriter(bytes.length + bytes.length / 4);
  out.bytes(bytes.subarray(0, 8));
  for (const section of sections) {
    let payload: Uint8Array;
    switch (section.id) {
      case SECTION.custom:
        continue;
      case SECTION.type:
        payload = typePayload;
        break;
      case SECTION.import:
        payload = importPayload;
        break;
      case SECTION.global:
        payload = globalPayload;
        break;
      case SECTION.export:
        payload = shiftedExports(bytes, section, shift, globalImports);
        break;
      case SECTION.start: {
        const reader = new Reader(bytes, section.start);
        payload = new ByteWriter(8).u32(shift(reader.u32())).done();
        break;
      }
      case SECTION.element:
        payload = shiftedElements(bytes, section, shift);
        break;
      case SECTION.code:
        payload = await instrumentedCode(bytes, section, shift, check, bulkCharge);
        break;
      default:
        payload = bytes.subarray(section.start, section.end);
    }
    out.byte(section.id).u32(payload.length).bytes(payload);
  }
  return out.done();
}

interface Section {
  id: number;
  start: number;
  end: number;
}

function readSections(bytes: Uint8Array): Section[] {
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d || bytes[4] !== 1) throw new Error('wasm polling: not a WebAssembly 1.0 module');
  const reader = new Reader(bytes, 8);
  const sections: Section[] = [];
  while (reader.offset < bytes.length) {
    const id = reader.byte();
    const size = reader.u32();
    sections.push({ id, start: reader.offset, end: reader.offset + size });
    reader.offset += size;
  }
  return sections;
}

/** The type section with `() -> i32` (the poll's type) added when it is not there yet. */
function withPollType(bytes: Uint8Array, section: Section): { payload: Uint8Array; pollType: number } {
  const reader = new Reader(bytes, section.start);
  const count = reader.u32();
  const body = reader.offset;
  for (let i = 0; i < count; i++) {
    if (reader.byte() !== 0x60) throw new Error('wasm polling: unexpected type form');
    const params = reader.u32();
    reader.offset += params;
    const results = reader.u32();
    const first = bytes[reader.offset];
    reader.offset += results;
    if (params === 0 && results === 1 && first === I32) return { payload: bytes.subarray(section.start, section.end), pollType: i };
  }
  const out = new ByteWriter(section.end - section.start + 8).u32(count + 1).bytes(bytes.subarray(body, section.end));
  out.bytes([0x60, 0x00, 0x01, I32]);
  return { payload: out.done(), pollType: count };
}

/** The import section with `flowgram.poll` appended; counts the imported functions and globals. */
function withPollImport(bytes: Uint8Array, section: Section, pollType: number): { payload: Uint8Array; functionImports: number; globalImports: number } {
  const reader = new Reader(bytes, section.start);
  const count = reader.u32();
  const body = reader.offset;
  let functionImports = 0;
  let globalImports = 0;
  for (let i = 0; i < count; i++) {
    // (The length is read before the offset moves past it: `offset += u32()` would add to the old offset.)
    for (let names = 0; names < 2; names++) {
      const length = reader.u32();
      reader.offset += length;
    }
    const kind = reader.byte();
    if (kind === KIND.function) {
      reader.u32();
      functionImports++;
    } else if (kind === KIND.table) {
      reader.byte();
      reader.limits();
    } else if (kind === KIND.memory) {
      reader.limits();
    } else if (kind === KIND.global) {
      reader.offset += 2;
      globalImports++;
    } else {
      throw new Error(`wasm polling: unexpected import kind ${kind}`);
    }
  }
  const out = new ByteWriter(section.end - section.start + 32).u32(count + 1).bytes(bytes.subarray(body, section.end));
  out.name(POLL_MODULE).name(POLL_FUNCTION).byte(KIND.function).u32(pollType);
  return { payload: out.done(), functionImports, globalImports };
}

/** The global section with the poll budget and a scratch word for bulk-memory lengths (mutable i32s) appended. */
function withFuelGlobals(bytes: Uint8Array, section: Section, globalImports: number): { payload: Uint8Array; fuelGlobal: number; scratchGlobal: number } {
  const reader = new Reader(bytes, section.start);
  const count = reader.u32();
  const out = new ByteWriter(section.end - section.start + 16).u32(count + 2).bytes(bytes.subarray(reader.offset, section.end));
  // The budget starts at 1: the first counted point asks the host for one.
  out.bytes([I32, 0x01, 0x41, 0x01, 0x0b]);
  out.bytes([I32, 0x01, 0x41, 0x00, 0x0b]);
  return { payload: out.done(), fuelGlobal: globalImports + count, scratchGlobal: globalImports + count + 1 };
}

/**
 * What runs at every counted point:
 *   fuel = fuel - 1; if (fuel < 1) fuel = poll();
 * (`< 1`, not `== 0`: a poll that throws leaves the budget at zero, and the next point must poll again.)
 */
function pollCheck(fuel: number, poll: number): Uint8Array {
  return new ByteWriter(24)
    .byte(0x23).u32(fuel) // global.get
    .bytes([0x41, 0x01, 0x6b]) // i32.const 1, i32.sub
    .byte(0x24).u32(fuel) // global.set
    .byte(0x23).u32(fuel)
    .bytes([0x41, 0x01, 0x48, 0x04, 0x40]) // i32.const 1, i32.lt_s, if (no result)
    .byte(0x10).u32(poll) // call poll
    .byte(0x24).u32(fuel)
    .byte(0x0b) // end
    .done();
}

/**
 * What runs before memory.fill and memory.copy (their length is the operand on top of the stack):
 *   scratch = length; fuel = fuel - (length >> BULK_SHIFT); if (fuel < 1) fuel = poll();
 * leaving the operands as they were.
 */
function chargeBulk(fuel: number, scratch: number, poll: number): Uint8Array {
  return new ByteWriter(40)
    .byte(0x24).u32(scratch) // global.set scratch (the length)
    .byte(0x23).u32(scratch) // global.get scratch (back on the stack for the instruction)
    .byte(0x23).u32(fuel)
    .byte(0x23).u32(scratch)
    .bytes([0x41, BULK_SHIFT, 0x76, 0x6b]) // i32.const, i32.shr_u, i32.sub
    .byte(0x24).u32(fuel)
    .byte(0x23).u32(fuel)
    .bytes([0x41, 0x01, 0x48, 0x04, 0x40])
    .byte(0x10).u32(poll)
    .byte(0x24).u32(fuel)
    .byte(0x0b)
    .done();
}

function shiftedExports(bytes: Uint8Array, section: Section, shift: (index: number) => number, globalImports: number): Uint8Array {
  const reader = new Reader(bytes, section.start);
  const count = reader.u32();
  const out = new ByteWriter(section.end - section.start + 64).u32(count + 1);
  for (let i = 0; i < count; i++) {
    const nameLength = reader.u32();
    out.u32(nameLength).bytes(bytes.subarray(reader.offset, reader.offset + nameLength));
    reader.offset += nameLength;
    const kind = reader.byte();
    const index = reader.u32();
    out.byte(kind).u32(kind === KIND.function ? shift(index) : index);
  }
  // emscripten's stack pointer is the first global the module defines.
  out.name(STACK_POINTER_EXPORT).byte(KIND.global).u32(globalImports);
  return out.done();
}

/** Element segments of the forms emscripten writes: active, table 0 (flags 0) or an explicit table (flags 2), function indices. */
function shiftedElements(bytes: Uint8Array, section: Section, shift: (index: number) => number): Uint8Array {
  const reader = new Reader(bytes, section.start);
  const count = reader.u32();
  const out = new ByteWriter(section.end - section.start + 64).u32(count);
  for (let i = 0; i < count; i++) {
    const flags = reader.u32();
    out.u32(flags);
    if (flags === 2) out.u32(reader.u32());
    else if (flags !== 0) throw new Error(`wasm polling: unexpected element segment form ${flags}`);
    const expressionStart = reader.offset;
    reader.constantExpression();
    out.bytes(bytes.subarray(expressionStart, reader.offset));
    if (flags === 2) {
      if (reader.byte() !== 0) throw new Error('wasm polling: unexpected element kind');
      out.byte(0);
    }
    const length = reader.u32();
    out.u32(length);
    for (let j = 0; j < length; j++) out.u32(shift(reader.u32()));
  }
  return out.done();
}

/** Every function body with the check at its entry and at the top of every loop, and calls renumbered. */
async function instrumentedCode(bytes: Uint8Array, section: Section, shift: (index: number) => number, check: Uint8Array, bulkCharge: Uint8Array): Promise<Uint8Array> {
  const reader = new Reader(bytes, section.start);
  const count = reader.u32();
  const out = new ByteWriter((section.end - section.start) * 1.5).u32(count);
  const body = new ByteWriter(64 * 1024);
  let sliceStart = performance.now();
  for (let i = 0; i < count; i++) {
    if ((i & 63) === 0 && performance.now() - sliceStart > REWRITE_SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
    const size = reader.u32();
    const end = reader.offset + size;
    body.reset();
    const locals = reader.offset;
    for (let groups = reader.u32(); groups > 0; groups--) {
      reader.u32();
      reader.byte();
    }
    body.bytes(bytes.subarray(locals, reader.offset)).bytes(check);
    let copied = reader.offset;
    while (reader.offset < end) {
      const at = reader.offset;
      const opcode = reader.byte();
      if (opcode === 0x03 /* loop */) {
        reader.blockType();
        body.bytes(bytes.subarray(copied, reader.offset)).bytes(check);
        copied = reader.offset;
      } else if (opcode === 0x10 /* call */ || opcode === 0xd2 /* ref.func */ || opcode === 0x12 /* return_call */) {
        const index = reader.u32();
        body.bytes(bytes.subarray(copied, at)).byte(opcode).u32(shift(index));
        copied = reader.offset;
      } else if (opcode === 0xfc) {
        const sub = reader.u32();
        if (sub === 10 /* memory.copy */ || sub === 11 /* memory.fill */) {
          body.bytes(bytes.subarray(copied, at)).bytes(bulkCharge);
          copied = at;
        }
        reader.skipPrefixed(sub);
      } else {
        reader.skipImmediates(opcode);
      }
    }
    if (reader.offset !== end) throw new Error('wasm polling: a function body did not end where its size says');
    body.bytes(bytes.subarray(copied, end));
    const instrumented = body.view();
    out.u32(instrumented.length).bytes(instrumented);
  }
  return out.done();
}

class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public offset: number,
  ) {}

  byte(): number {
    if (this.offset >= this.bytes.length) throw new Error('wasm polling: unexpected end of the module');
    return this.bytes[this.offset++];
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  }

  /** Skips a signed LEB128 of any width. */
  skipLeb(): void {
    while (this.byte() & 0x80);
  }

  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }

  blockType(): void {
    const first = this.bytes[this.offset];
    // Empty (0x40) or a value type: one byte; otherwise a type index as a signed LEB128.
    if (first === 0x40 || first >= 0x6f) this.offset++;
    else this.skipLeb();
  }

  /** An offset expression: one constant instruction, then `end`. */
  constantExpression(): void {
    const opcode = this.byte();
    if (opcode === 0x41 || opcode === 0x42 || opcode === 0x23) this.skipLeb();
    else throw new Error(`wasm polling: unexpected constant expression ${opcode}`);
    if (this.byte() !== 0x0b) throw new Error('wasm polling: unterminated constant expression');
  }

  /** Moves past the immediates of `opcode` (already read). */
  skipImmediates(opcode: number): void {
    if (opcode <= 0x01 || opcode === 0x05 || opcode === 0x0b || opcode === 0x0f || opcode === 0x1a || opcode === 0x1b || opcode === 0xd1) return;
    if (opcode >= 0x45 && opcode <= 0xc4) return; // numeric instructions, sign extension
    if (opcode === 0x02 || opcode === 0x04) return this.blockType();
    if (opcode === 0x0c || opcode === 0x0d || (opcode >= 0x20 && opcode <= 0x26)) {
      this.u32();
      return;
    }
    if (opcode === 0x0e) {
      for (let targets = this.u32(); targets >= 0; targets--) this.u32(); // the targets and the default
      return;
    }
    if (opcode === 0x11 || opcode === 0x13) {
      this.u32();
      this.u32();
      return;
    }
    if (opcode === 0x1c) {
      const types = this.u32();
      this.offset += types;
      return;
    }
    if (opcode >= 0x28 && opcode <= 0x3e) {
      this.u32();
      this.u32();
      return;
    }
    if (opcode === 0x3f || opcode === 0x40 || opcode === 0xd0) {
      this.byte();
      return;
    }
    if (opcode === 0x41 || opcode === 0x42) return this.skipLeb();
    if (opcode === 0x43) {
      this.offset += 4;
      return;
    }
    if (opcode === 0x44) {
      this.offset += 8;
      return;
    }
    if (opcode === 0xfc) return this.skipPrefixed(this.u32());
    throw new Error(`wasm polling: unsupported instruction 0x${opcode.toString(16)}`);
  }

  skipPrefixed(sub: number): void {
    if (sub <= 7) return; // saturating truncation
    const immediates: Record<number, number> = { 8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1 };
    const count = immediates[sub];
    if (count === undefined) throw new Error(`wasm polling: unsupported instruction 0xfc ${sub}`);
    for (let i = 0; i < count; i++) this.u32();
  }
}

class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(capacity: number) {
    this.buffer = new Uint8Array(Math.max(16, Math.ceil(capacity)));
  }

  private room(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  byte(value: number): this {
    this.room(1);
    this.buffer[this.length++] = value;
    return this;
  }

  bytes(values: Uint8Array | readonly number[]): this {
    this.room(values.length);
    this.buffer.set(values, this.length);
    this.length += values.length;
    return this;
  }

  u32(value: number): this {
    do {
      let byte = value & 0x7f;
      value = Math.floor(value / 128);
      if (value !== 0) byte |= 0x80;
      this.byte(byte);
    } while (value !== 0);
    return this;
  }

  name(text: string): this {
    const encoded = new TextEncoder().encode(text);
    return this.u32(encoded.length).bytes(encoded);
  }

  reset(): void {
    this.length = 0;
  }

  /** The bytes written so far, without copying (valid until the next write). */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  done(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
