/**
 * The worker thread behind the QuickJS runner: one WebAssembly instance of QuickJS whose memory is
 * capped, holding one sandbox that is reset to a fresh context after every script (see QuickJSSandbox).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RELEASE_SYNC, newQuickJSWASMModule, newVariant } from 'quickjs-emscripten';
import { decodeSandboxRequest, encodeSandboxResult } from './quickjs-frames.js';
import { QuickJSSandbox, type SandboxRequest, type SandboxResult } from './quickjs-sandbox.js';
import type { CompiledWasm, MemoryLayout } from './quickjs-wasm.js';
import { ChannelState, SharedChannel, type ChannelBuffers } from './shared-channel.js';
import { lowerThreadPriority } from './thread-priority.js';
import { WORKER_READY, type WorkerJobMessage, type WorkerReplyMessage } from './worker-pool.js';

export interface QuickJSWorkerData {
  /** The job slot shared with the pool. */
  channel: ChannelBuffers;
  /** Heap the scripts may use beyond QuickJS's own footprint (bytes). */
  memoryBytes: number;
  /** QuickJS compiled once by the host (see quickjs-wasm.ts); this worker only instantiates it. */
  wasmModule: CompiledWasm;
  layout: MemoryLayout;
}

// The project's lib (ES2023, no DOM) has no WebAssembly types; the Memory constructor is all we need.
declare const WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => object };

const PAGE = 64 * 1024;
/** The memory the QuickJS build starts with (its static data, stack and an empty heap). */
const BASE_MEMORY = 16 * 1024 * 1024;

const port = parentPort;
if (!port) throw new Error('quickjs-worker must run in a worker thread');
const { memoryBytes, wasmModule, layout, channel: buffers } = workerData as QuickJSWorkerData;
// Before any script runs: a script spinning here never takes a core from the host's event loop.
lowerThreadPriority();

// QuickJS's own allocation accounting misses large strings and buffers in this build, so the hard
// memory bound is the WebAssembly memory itself: growing past it makes malloc fail, and QuickJS
// throws "out of memory" into the script.
const wasmMemory = new WebAssembly.Memory({
  initial: BASE_MEMORY / PAGE,
  maximum: Math.ceil((BASE_MEMORY + memoryBytes) / PAGE),
});
const sandbox = new QuickJSSandbox(await newQuickJSWASMModule(newVariant(RELEASE_SYNC, { wasmModule, wasmMemory })), layout);

const channel = new SharedChannel(buffers);
/** How long an idle worker waits on its slot with its thread blocked before it waits through its event loop. */
const IDLE_WAIT_MS = 20;
/** An asynchronous wait on the slot is pending (one is enough). */
let waitingAsync = false;

/** A job that came as a message (it did not fit in the slot); the answer goes back the same way. */
port.on('message', (message: WorkerJobMessage<SandboxRequest>) => {
  const result = sandbox.attempt(message.request);
  reply(message.id, result);
  sandbox.reset();
  serve();
});

function reply(id: number, result: SandboxResult): void {
  const message: WorkerReplyMessage<SandboxResult> = { id, result };
  // The module failed under this script: this worker ends and the pool starts a fresh one.
  if (!sandbox.usable) message.retire = true;
  port?.postMessage(message);
}

/**
 * Runs the jobs the pool writes into the slot. The answer goes out before the context is reset, so the
 * reset overlaps with the host reading it. Between jobs the thread sleeps on the slot for a while (a
 * next job wakes it within µs), then returns to its event loop until the slot changes.
 */
function serve(): void {
  let until = performance.now() + IDLE_WAIT_MS;
  for (;;) {
    const state = channel.state;
    if (state === ChannelState.request) {
      const result = sandbox.attempt(decodeSandboxRequest(channel.data.subarray(0, channel.length)));
      const length = encodeSandboxResult(result, channel.data);
      if (length === undefined) {
        channel.set(ChannelState.replyByMessage);
        reply(channel.job, result);
      } else {
        channel.set(ChannelState.reply, length, !sandbox.usable);
      }
      sandbox.reset();
      until = performance.now() + IDLE_WAIT_MS;
      continue;
    }
    // The job comes as a message: return to the event loop to receive it (its handler serves again).
    if (state === ChannelState.wake) {
      channel.exchange(ChannelState.wake, ChannelState.idle);
      return;
    }
    const left = until - performance.now();
    if (left <= 0) {
      if (!waitingAsync) {
        waitingAsync = true;
        void channel.changeFrom(state).then(() => {
          waitingAsync = false;
          serve();
        });
      }
      return;
    }
    channel.waitWhile(state, left);
  }
}

port.postMessage(WORKER_READY);
serve();
