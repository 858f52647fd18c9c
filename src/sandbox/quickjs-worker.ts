/**
 * The worker thread behind the QuickJS runner: one WebAssembly instance of QuickJS whose memory is
 * capped, holding one sandbox that is reset to a fresh context after every script (see QuickJSSandbox).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RELEASE_SYNC, newQuickJSWASMModule, newVariant } from 'quickjs-emscripten';
import { QuickJSSandbox, type SandboxRequest, type SandboxResult } from './quickjs-sandbox.js';
import type { CompiledWasm, MemoryLayout } from './quickjs-wasm.js';
import { WORKER_READY, type WorkerJobMessage, type WorkerReplyMessage } from './worker-pool.js';

export interface QuickJSWorkerData {
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
const { memoryBytes, wasmModule, layout } = workerData as QuickJSWorkerData;

// QuickJS's own allocation accounting misses large strings and buffers in this build, so the hard
// memory bound is the WebAssembly memory itself: growing past it makes malloc fail, and QuickJS
// throws "out of memory" into the script.
const wasmMemory = new WebAssembly.Memory({
  initial: BASE_MEMORY / PAGE,
  maximum: Math.ceil((BASE_MEMORY + memoryBytes) / PAGE),
});
const sandbox = new QuickJSSandbox(await newQuickJSWASMModule(newVariant(RELEASE_SYNC, { wasmModule, wasmMemory })), layout);

port.on('message', (message: WorkerJobMessage<SandboxRequest>) => {
  const result = sandbox.run(message.request);
  const reply: WorkerReplyMessage<SandboxResult> = { id: message.id, result };
  // The module failed under this script: this worker ends and the pool starts a fresh one.
  if (!sandbox.usable) reply.retire = true;
  port.postMessage(reply);
});
port.postMessage(WORKER_READY);
