import { afterAll, describe, expect, it } from 'vitest';
import { nestedLoop } from '../../test/fixtures/workflow-builders.js';
import { createRuntime } from '../runtime.js';

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
});
