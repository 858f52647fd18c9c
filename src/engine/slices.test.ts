import { afterAll, describe, expect, it } from 'vitest';
import { nestedLoop } from '../../test/fixtures/workflow-builders.js';
import { createRuntime } from '../runtime.js';
import { resumeLater, SLICE_MS, sliceLeft } from './slices.js';

const runtime = createRuntime();
afterAll(() => runtime.close());
const items = Array.from({ length: 1_000 }, (_, i) => i);

/** Gaps (ms) between turns of the event loop while `work` runs: a 1 ms timer, re-armed each time it fires. */
async function gapsWhile(work: Promise<unknown>): Promise<number[]> {
  const gaps: number[] = [];
  let last = performance.now();
  let running = true;
  const tick = (): void => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
    if (running) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  await work;
  running = false;
  return gaps;
}

describe('time slices: one task never holds the event loop', () => {
  it('lets timers run all along a 1000 × 1000 nested loop of synchronous nodes', async () => {
    const task = runtime.start(nestedLoop() as unknown as Record<string, unknown>, { items });
    const gaps = await gapsWhile(task.done);
    // It ends at maxNodeExecutions, as before; what changed is that the event loop kept turning.
    expect(task.error?.message).toMatch(/maxNodeExecutions/);
    expect(gaps.length).toBeGreaterThan(20);
    gaps.sort((a, b) => a - b);
    // Generous: slices are a few ms; a loaded machine (and GC) stretches some turns.
    expect(gaps[Math.floor(gaps.length * 0.9)]).toBeLessThan(100);
  });

  it('still ends a small workflow inside start()', () => {
    const task = runtime.start({ nodes: [{ id: 'start_0', type: 'start' }, { id: 'end_0', type: 'end' }], edges: [{ sourceNodeID: 'start_0', targetNodeID: 'end_0' }] });
    expect(task.status).toBe('succeeded');
  });

  it('counts work that began in a timer or I/O callback against the slice the following turn goes on with', async () => {
    await new Promise<void>((resolve) => resumeLater(resolve));
    // In a timer callback (work coming from a worker's reply or a deadline is the same): 3 ms of it.
    const left = await new Promise<number>((resolve) => {
      setTimeout(() => {
        sliceLeft();
        const started = performance.now();
        while (performance.now() - started < SLICE_MS - 1);
        // The turn runs next, in the same iteration of the event loop (no timer in between).
        resumeLater(() => resolve(sliceLeft()));
      }, 1);
    });
    expect(left).toBeLessThan(1);
  });

  it('opens a fresh slice for work that comes after a turn and its microtasks', async () => {
    await new Promise<void>((resolve) => resumeLater(resolve));
    await Promise.resolve();
    const left = await new Promise<number>((resolve) => setTimeout(() => resolve(sliceLeft()), 1));
    expect(left).toBeGreaterThan(SLICE_MS - 0.001);
  });

  it('starts a continuation that needs room only in a slice that has it, and keeps those behind it waiting', async () => {
    await new Promise<void>((resolve) => resumeLater(resolve));
    const seen = await new Promise<Array<[string, number]>>((resolve) => {
      const order: Array<[string, number]> = [];
      setTimeout(() => {
        sliceLeft();
        while (sliceLeft() >= 2);
        resumeLater(() => order.push(['needs 3 ms', sliceLeft()]), 3);
        resumeLater(() => {
          order.push(['behind it', sliceLeft()]);
          resolve(order);
        });
      }, 1);
    });
    expect(seen.map(([name]) => name)).toEqual(['needs 3 ms', 'behind it']);
    // A fresh slice, not what was left of the timer's (under 2 ms).
    expect(seen[0][1]).toBeGreaterThan(2);
  });
});
