import { afterEach, describe, expect, it } from 'vitest';
import { PoolClosedError, WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

// A tiny worker (plain JS, no build needed): `spin` never answers, `crash` exits, anything else echoes.
const ECHO_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, request }) => {
  if (request === 'spin') for (;;) {}
  if (request === 'crash') process.exit(3);
  if (request === 'requeue') return parentPort.postMessage({ id, requeue: true });
  parentPort.postMessage({ id, result: 'echo:' + request, retire: request === 'retire' });
});
parentPort.postMessage('ready');
`;

/**
 * A worker that takes jobs through the shared slot (see shared-channel.ts: state, length, retire, job):
 * the request is how many ms to work; it answers 'done:<ms>' in place. Its thread stays in this loop.
 */
const SLOT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const control = new Int32Array(workerData.channel.control);
const data = new Uint8Array(workerData.channel.data);
parentPort.postMessage('ready');
for (;;) {
  const state = Atomics.load(control, 0);
  if (state !== 1) { Atomics.wait(control, 0, state, 50); continue; }
  const request = Buffer.from(data.subarray(0, Atomics.load(control, 1))).toString();
  const until = Date.now() + Number(request);
  while (Date.now() < until);
  const reply = Buffer.from('done:' + request);
  data.set(reply);
  Atomics.store(control, 1, reply.length);
  Atomics.store(control, 2, 0);
  Atomics.store(control, 0, 2);
  Atomics.notify(control, 0);
}
`;

const SLOT_CHANNEL = {
  bytes: 1024,
  encodeRequest: (request: string, bytes: Uint8Array): number => {
    const encoded = Buffer.from(request);
    bytes.set(encoded);
    return encoded.length;
  },
  decodeResult: (bytes: Uint8Array): string => Buffer.from(bytes).toString(),
};

/** Whether `promise` settles while only microtasks run (the job was answered inside `run`, before the event loop turned). */
async function settlesBeforeTheLoopTurns(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  for (let i = 0; i < 5; i++) await null;
  return settled;
}

const pools: Array<WorkerPool<string, string>> = [];

function createPool(options: Partial<WorkerPoolOptions<string, string>> = {}): WorkerPool<string, string> {
  const pool = new WorkerPool<string, string>({ size: 2, entry: ECHO_WORKER, eval: true, ...options });
  pools.push(pool);
  return pool;
}

const job = (deadlineMs = 5_000, signal?: AbortSignal) => ({ deadlineMs, signal, onDeadline: () => 'deadline' });

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('WorkerPool', () => {
  it('runs jobs on up to `size` workers', async () => {
    const pool = createPool();
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((request) => pool.run(request, job())));
    expect(results).toEqual(['echo:a', 'echo:b', 'echo:c', 'echo:d']);
    expect(pool.workers).toBe(2);
  });

  it('kills a worker that overruns its deadline and settles with onDeadline()', async () => {
    const pool = createPool({ size: 1 });
    await pool.run('warm', job());
    expect(await pool.run('spin', job(100))).toBe('deadline');
    expect(await pool.run('after', job())).toBe('echo:after');
  });

  it('kills the worker at once on abort and rejects with the reason', async () => {
    const pool = createPool({ size: 1 });
    await pool.run('warm', job());
    const controller = new AbortController();
    const running = pool.run('spin', job(60_000, controller.signal));
    setTimeout(() => controller.abort(new Error('cancelled')), 50);
    await expect(running).rejects.toThrow('cancelled');
    expect(await pool.run('after', job())).toBe('echo:after');
  });

  it('drops an aborted job that is still queued', async () => {
    const pool = createPool({ size: 1 });
    await pool.run('warm', job());
    const controller = new AbortController();
    const first = pool.run('spin', job(300));
    const queued = pool.run('queued', job(5_000, controller.signal));
    controller.abort(new Error('not needed'));
    await expect(queued).rejects.toThrow('not needed');
    expect(await first).toBe('deadline');
  });

  it('fails the job of a worker that dies, and replaces the worker', async () => {
    const pool = createPool({ size: 1 });
    await pool.run('warm', job());
    await expect(pool.run('crash', job())).rejects.toThrow('code: the sandbox worker stopped unexpectedly (the sandbox worker exited with code 3)');
    expect(await pool.run('after', job())).toBe('echo:after');
  });

  it('replaces a worker that asks to retire', async () => {
    const pool = createPool({ size: 1 });
    expect(await pool.run('retire', job())).toBe('echo:retire');
    expect(await pool.run('after', job())).toBe('echo:after');
  });

  it('runs a handed-back job elsewhere, and fails it when no worker can run it', async () => {
    const pool = createPool({ size: 2 });
    await expect(pool.run('requeue', job())).rejects.toThrow('code: no sandbox worker could run the script');
    expect(await pool.run('after', job())).toBe('echo:after');
  });

  it('fails waiting jobs when a worker cannot start', async () => {
    const pool = createPool({ entry: 'throw new Error("no wasm")' });
    await expect(pool.run('a', job())).rejects.toThrow('code: the sandbox worker could not start (no wasm)');
  });

  it('rejects queued and new jobs once closed', async () => {
    const pool = createPool({ size: 1 });
    await pool.run('warm', job());
    const running = expect(pool.run('spin', job(60_000))).rejects.toBeInstanceOf(PoolClosedError);
    const queued = expect(pool.run('queued', job())).rejects.toBeInstanceOf(PoolClosedError);
    await pool.close();
    await Promise.all([running, queued]);
    await expect(pool.run('late', job())).rejects.toBeInstanceOf(PoolClosedError);
  });

  it('waits synchronously for a reply through the slot only as long as the caller allows', async () => {
    const pool = createPool({ size: 1, entry: SLOT_WORKER, workerData: {}, channel: SLOT_CHANNEL });
    await pool.warm();
    const allowed = pool.run('5', { ...job(), syncWaitMs: 5_000 });
    expect(await settlesBeforeTheLoopTurns(allowed)).toBe(true);
    expect(await allowed).toBe('done:5');
    // Not allowed (the caller's time slice is used up, or the script is known to be long): the loop turns first.
    const notAllowed = pool.run('5', job());
    expect(await settlesBeforeTheLoopTurns(notAllowed)).toBe(false);
    expect(await notAllowed).toBe('done:5');
    const tooShort = pool.run('200', { ...job(), syncWaitMs: 1 });
    expect(await settlesBeforeTheLoopTurns(tooShort)).toBe(false);
    expect(await tooShort).toBe('done:200');
  });

  it('starts workers at its upkeep (`schedule`), never in the middle of what asked for them', async () => {
    let upkeeps = 0;
    const pool = createPool({
      size: 1,
      schedule: (work) => {
        upkeeps++;
        setImmediate(work);
      },
    });
    const first = pool.run('retire', job());
    // Not inside run() (the caller's time), nor inside the reply that retires a worker.
    expect(pool.workers).toBe(0);
    expect(await first).toBe('echo:retire');
    expect(pool.workers).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(pool.workers).toBe(1);
    expect(upkeeps).toBe(2);
    expect(await pool.run('after', job())).toBe('echo:after');
    // A job that came before the upkeep has the worker started for it: the replacement adds none beyond `size`.
    expect(await pool.run('retire', job())).toBe('echo:retire');
    expect(await pool.run('again', job())).toBe('echo:again');
    await new Promise((resolve) => setImmediate(resolve));
    expect(pool.workers).toBe(1);
  });
});
