/**
 * The worker thread behind the QuickJS runner: one WebAssembly instance of QuickJS whose memory is
 * capped, and a fresh QuickJS runtime + context for every script it runs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RELEASE_SYNC, newQuickJSWASMModule, newVariant } from 'quickjs-emscripten';
import { QuickJSSandbox, type SandboxRequest, type SandboxResult } from './quickjs-sandbox.js';
import { WORKER_READY, type WorkerJobMessage, type WorkerReplyMessage } from './worker-pool.js';

export interface QuickJSWorkerData {
  /** Heap the scripts may use beyond QuickJS's own footprint (bytes). */
  memoryBytes: number;
}

// The project's lib (ES2023, no DOM) has no WebAssembly types; the Memory constructor is all we need.
declare const WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => object };

const PAGE = 64 * 1024;
/** The memory the QuickJS build starts with (its static data, stack and an empty heap). */
const BASE_MEMORY = 16 * 1024 * 1024;

const port = parentPort;
if (!port) throw new Error('quickjs-worker must run in a worker thread');
const { memoryBytes } = workerData as QuickJSWorkerData;

// QuickJS's own allocation accounting misses large strings and buffers in this build, so the hard
// memory bound is the WebAssembly memory itself: growing past it makes malloc fail, and QuickJS
// throws "out of memory" into the script.
const wasmMemory = new WebAssembly.Memory({
  initial: BASE_MEMORY / PAGE,
  maximum: Math.ceil((BASE_MEMORY + memoryBytes) / PAGE),
});
const sandbox = new QuickJSSandbox(await newQuickJSWASMModule(newVariant(RELEASE_SYNC, { wasmMemory })));
sandbox.prepare();

port.on('message', (message: WorkerJobMessage<SandboxRequest>) => {
  if (!sandbox.usable) {
    // Freeing the last runtime failed after the previous reply: hand the job back and end.
    const requeue: WorkerReplyMessage<SandboxResult> = { id: message.id, requeue: true };
    port.postMessage(requeue);
    return;
  }
  const result = sandbox.run(message.request);
  const reply: WorkerReplyMessage<SandboxResult> = { id: message.id, result };
  if (!sandbox.usable) reply.retire = true;
  port.postMessage(reply);
  // Build the next context while the host is busy with this result.
  setImmediate(prepareNext);
});
port.postMessage(WORKER_READY);

function prepareNext(): void {
  try {
    sandbox.prepare();
  } catch {
    // The instance cannot even build a context (corrupted or out of memory): end this worker, the pool
    // replaces it.
    process.exit(1);
  }
}
