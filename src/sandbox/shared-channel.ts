/**
 * A job slot in shared memory between the host and one worker: the host writes a request and wakes
 * the worker with Atomics.notify; the worker writes the reply in place and wakes the host. A round trip
 * costs a few µs instead of two message-port hops through both event loops, and the host may wait for
 * a short job synchronously (bounded) instead of yielding to its event loop.
 */

/** What the slot holds now; stored at CONTROL_STATE and waited on by both sides. */
export const ChannelState = {
  /** Nothing to do (the worker waits for a request). */
  idle: 0,
  /** A request is in `data`. */
  request: 1,
  /** The reply is in `data`. */
  reply: 2,
  /** The reply travels as a message (it did not fit): the host leaves the slot alone until it arrives. */
  replyByMessage: 3,
  /** A job travels as a message (it did not fit): the worker returns to its event loop to receive it. */
  wake: 4,
} as const;

const CONTROL_STATE = 0;
const CONTROL_LENGTH = 1;
const CONTROL_RETIRE = 2;
const CONTROL_JOB = 3;
const CONTROL_WORDS = 4;

/** The shared buffers of one slot; plain data, so it travels in workerData. */
export interface ChannelBuffers {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function createChannelBuffers(dataBytes: number): ChannelBuffers {
  return { control: new SharedArrayBuffer(CONTROL_WORDS * 4), data: new SharedArrayBuffer(dataBytes) };
}

/** One side's view of a slot. */
export class SharedChannel {
  readonly data: Uint8Array;
  private readonly control: Int32Array;

  constructor(buffers: ChannelBuffers) {
    this.control = new Int32Array(buffers.control);
    this.data = new Uint8Array(buffers.data);
  }

  get state(): number {
    return Atomics.load(this.control, CONTROL_STATE);
  }

  /** Stores a state (with the frame's length in `data`) and wakes whoever waits on the slot. */
  set(state: number, length = 0, retire = false): void {
    Atomics.store(this.control, CONTROL_LENGTH, length);
    Atomics.store(this.control, CONTROL_RETIRE, retire ? 1 : 0);
    Atomics.store(this.control, CONTROL_STATE, state);
    Atomics.notify(this.control, CONTROL_STATE);
  }

  /** Moves from `from` to `to` only if the state is still `from`. */
  exchange(from: number, to: number): boolean {
    const swapped = Atomics.compareExchange(this.control, CONTROL_STATE, from, to) === from;
    if (swapped) Atomics.notify(this.control, CONTROL_STATE);
    return swapped;
  }

  /** The ID of the job in the slot (the host's, so a reply by message can name it). */
  get job(): number {
    return Atomics.load(this.control, CONTROL_JOB);
  }

  set job(id: number) {
    Atomics.store(this.control, CONTROL_JOB, id);
  }

  get length(): number {
    return Atomics.load(this.control, CONTROL_LENGTH);
  }

  get retire(): boolean {
    return Atomics.load(this.control, CONTROL_RETIRE) === 1;
  }

  /** Blocks this thread while the state is `current`, at most `ms`; returns the state then. */
  waitWhile(current: number, ms: number): number {
    Atomics.wait(this.control, CONTROL_STATE, current, ms);
    return this.state;
  }

  /** Resolves once the state is no longer `current` (without blocking the thread). */
  async changeFrom(current: number): Promise<number> {
    const waiting = atomics.waitAsync(this.control, CONTROL_STATE, current);
    if (waiting.async) await waiting.value;
    return this.state;
  }
}

// Atomics.waitAsync (ES2024) is in Node 20 but not in the project's lib (ES2023).
const atomics = Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A record of numbers and strings written into a byte buffer: each number as a float64, each string
 * as its UTF-8 length (uint32) and bytes. Returns undefined from `end()` when it did not fit.
 */
export class FrameWriter {
  private offset = 0;
  private overflow = false;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  number(value: number): this {
    if (this.overflow || this.offset + 8 > this.bytes.length) this.overflow = true;
    else this.view.setFloat64(this.offset, value);
    this.offset += 8;
    return this;
  }

  string(value: string): this {
    if (this.overflow || this.offset + 4 > this.bytes.length) {
      this.overflow = true;
      return this;
    }
    // encodeInto stops where the buffer ends, so a string too large costs at most the buffer's size.
    const { read, written } = encoder.encodeInto(value, this.bytes.subarray(this.offset + 4));
    if (read !== value.length) {
      this.overflow = true;
      return this;
    }
    this.view.setUint32(this.offset, written);
    this.offset += 4 + written;
    return this;
  }

  /** The frame's length, or undefined when it does not fit in the buffer. */
  end(): number | undefined {
    return this.overflow ? undefined : this.offset;
  }
}

export class FrameReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  number(): number {
    const value = this.view.getFloat64(this.offset);
    this.offset += 8;
    return value;
  }

  string(): string {
    const length = this.view.getUint32(this.offset);
    this.offset += 4;
    const text = decoder.decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return text;
  }
}
