import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { sliceLeft } from '../engine/slices.js';
import { DEFAULT_CODE_LIMITS } from './limits.js';
import { INLINE_SLICE_MS } from './quickjs-inline.js';
import { createQuickJSRunner } from './quickjs-runner.js';
import { SANDBOX_THREAD_NICE } from './thread-priority.js';
import type { ScriptRequest } from './types.js';

const runner = createQuickJSRunner({ workers: 2 });
const signal = new AbortController().signal;

afterAll(async () => {
  await runner.close();
});

function request(source: string, overrides: Partial<ScriptRequest> = {}): ScriptRequest {
  return { language: 'javascript', source, params: { x: 1 }, limits: DEFAULT_CODE_LIMITS, ...overrides };
}

describe('QuickJS runner (jobs through each worker\'s shared slot)', () => {
  it('carries results, console output and failures with their limit', async () => {
    expect(await runner.run(request('function main({ params }) { console.warn("é ✓"); return { y: params.x + 1 } }'), signal)).toEqual({
      ok: true,
      value: { y: 2 },
      logs: [{ level: 'warning', message: 'é ✓' }],
    });
    expect(await runner.run(request('function main() { return "x".repeat(100) }', { limits: { ...DEFAULT_CODE_LIMITS, outputBytes: 10 } }), signal)).toEqual({
      ok: false,
      error: 'code: outputBytes exceeded (10 bytes)',
      limit: 'outputBytes',
      logs: [],
    });
    expect(await runner.run(request('function main() { throw new TypeError("t") }'), signal)).toEqual({ ok: false, error: 'TypeError: t (line 1)', logs: [] });
  });

  it('sends a request and a reply larger than the slot as messages', async () => {
    const big = 'é'.repeat(1_500_000);
    const limits = { ...DEFAULT_CODE_LIMITS, outputBytes: 8 * 1024 * 1024 };
    const echoed = await runner.run(request('function main({ params }) { return { n: params.s.length, s: params.s } }', { params: { s: big }, limits }), signal);
    expect(echoed).toMatchObject({ ok: true, value: { n: big.length } });
    expect((echoed as { value: { s: string } }).value.s === big).toBe(true);
    // The slot is used again for the next small job.
    expect(await runner.run(request('function main() { return 3 }'), signal)).toMatchObject({ ok: true, value: { result: 3 } });
  });

  it('answers many jobs at once, each with its own result', async () => {
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => runner.run(request('async function main({ params }) { await null; return params.i * 2 }', { params: { i } }), signal)),
    );
    expect(results.map((result) => (result as { value: unknown }).value)).toEqual(Array.from({ length: 64 }, (_, i) => ({ result: i * 2 })));
  });

  it('recovers a worker killed at its deadline and keeps using the slot of its replacement', async () => {
    const limits = { ...DEFAULT_CODE_LIMITS, timeoutMs: 100 };
    // A typed-array sort never polls the interrupt handler: only killing the worker ends it.
    const sort = 'function main() { const a = new Float64Array(3e6); for (;;) { a.sort(); a.reverse() } }';
    expect(await runner.run(request(sort, { limits }), signal)).toMatchObject({ ok: false, limit: 'timeoutMs' });
    expect(await runner.run(request('function main({ params }) { return params.x }'), signal)).toMatchObject({ ok: true, value: { result: 1 } });
  });

  it('tries a script on the main thread at once when the time slice has room for its budget, after the event loop turned when not', async () => {
    await runner.warm?.();
    const short = request('function main({ params }) { return params.x }');
    // Which comes first: the answer, or an immediate queued right after the call (the event loop's turn)?
    const order = async (prepare: () => void): Promise<string[]> => {
      const seen: string[] = [];
      await new Promise<void>((resolve) => {
        setTimeout(() => {
          prepare();
          const answered = runner.run(short, signal).then(() => seen.push('answered'));
          setImmediate(() => seen.push('turned'));
          void answered.then(() => setImmediate(resolve));
        }, 1);
      });
      return seen;
    };
    // A fresh slice (the timer's own): answered before the event loop turns (unless a loaded machine
    // stopped the thread for a ms in the middle of the attempt, which sends the script to a worker).
    let fresh: string[] = [];
    for (let attempt = 0; attempt < 10 && fresh[0] !== 'answered'; attempt++) fresh = await order(() => sliceLeft());
    expect(fresh).toEqual(['answered', 'turned']);
    // A slice with less left than an attempt may take: the attempt waits for the next slice.
    expect(
      await order(() => {
        while (sliceLeft() >= INLINE_SLICE_MS - 0.5);
      }),
    ).toEqual(['turned', 'answered']);
  });

  it.skipIf(process.platform !== 'linux')('runs its workers at a lower CPU priority than the thread of the event loop (Linux)', async () => {
    const niceOf = (stat: string): number => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    const ownNice = niceOf(readFileSync('/proc/thread-self/stat', 'utf8'));
    await runner.warm?.();
    const nices = readdirSync('/proc/self/task').map((tid) => niceOf(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    expect(nices.filter((nice) => nice === SANDBOX_THREAD_NICE).length).toBeGreaterThanOrEqual(2);
    // Only the workers' threads: the host's is as it was.
    expect(niceOf(readFileSync('/proc/thread-self/stat', 'utf8'))).toBe(ownNice);
    expect(ownNice).not.toBe(SANDBOX_THREAD_NICE);
  });
});
