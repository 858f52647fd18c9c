/**
 * The runtime's admission queue: at most `maxRunningTasks` run at once, the rest wait as `pending` in
 * FIFO order, a cancelled waiter never runs, and beyond `maxQueuedTasks` start() refuses.
 */
import { describe, expect, it } from 'vitest';
import { createRuntime, ErrorCodes, type TaskEvent } from '../src/index.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { chain, delayNode, endNode, input, ref, startNode, workflow } from './fixtures/workflow-builders.js';

const slow = workflow(
  [startNode('start_0', { n: 'integer' }), delayNode('delay_0', 40, { n: input('integer', ref('start_0', 'n')) }), endNode('end_0', { n: input('integer', ref('delay_0', 'n')) })],
  chain('start_0', 'delay_0', 'end_0'),
);

describe('admission queue', () => {
  it('runs at most maxRunningTasks at once and starts the waiting ones in order', async () => {
    const runtime = createRuntime({ executors: testExecutors(), concurrency: { maxRunningTasks: 2 } });
    try {
      const started: number[] = [];
      const tasks = [0, 1, 2, 3, 4].map((n) => runtime.start(slow, { n }));
      tasks.forEach((task, n) => task.subscribe((event: TaskEvent) => event.type === 'workflow_started' && started.push(n)));
      expect(tasks.map((task) => task.status)).toEqual(['processing', 'processing', 'pending', 'pending', 'pending']);
      expect(runtime.stats()).toMatchObject({ running: 2, queued: 3 });
      const outputs = await Promise.all(tasks.map((task) => task.wait()));
      expect(outputs).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })));
      // The first two started inside start(); subscribe() replays that, the others are heard live, in order.
      expect(started).toEqual([0, 1, 2, 3, 4]);
      expect(runtime.stats()).toMatchObject({ running: 0, queued: 0 });
    } finally {
      await runtime.close();
    }
  });

  it('a task cancelled while waiting never runs, and frees its place', async () => {
    const runtime = createRuntime({ executors: testExecutors(), concurrency: { maxRunningTasks: 1 } });
    try {
      const first = runtime.start(slow, { n: 1 });
      const waiting = runtime.start(slow, { n: 2 });
      const third = runtime.start(slow, { n: 3 });
      expect(waiting.cancel('not needed')).toBe(true);
      await expect(waiting.wait()).rejects.toMatchObject({ code: ErrorCodes.TASK_CANCELLED });
      expect(waiting.report().reports).toEqual({});
      await expect(first.wait()).resolves.toEqual({ n: 1 });
      await expect(third.wait()).resolves.toEqual({ n: 3 });
    } finally {
      await runtime.close();
    }
  });

  it('refuses beyond maxQueuedTasks with LIMIT_EXCEEDED', async () => {
    const runtime = createRuntime({ executors: testExecutors(), concurrency: { maxRunningTasks: 1, maxQueuedTasks: 1 } });
    try {
      const a = runtime.start(slow, { n: 1 });
      const b = runtime.start(slow, { n: 2 });
      expect(() => runtime.start(slow, { n: 3 })).toThrow(expect.objectContaining({ code: ErrorCodes.LIMIT_EXCEEDED }));
      await Promise.all([a.wait(), b.wait()]);
    } finally {
      await runtime.close();
    }
  });

  it('ends in retention: finished tasks beyond maxTasks are released', async () => {
    const runtime = createRuntime({ executors: testExecutors(), retention: { maxTasks: 3 } });
    try {
      const hello = workflow([startNode('start_0', { n: 'integer' }), endNode('end_0', { n: input('integer', ref('start_0', 'n')) })], chain('start_0', 'end_0'));
      const ids: string[] = [];
      for (let n = 0; n < 10; n++) {
        const task = runtime.start(hello, { n });
        await task.wait();
        ids.push(task.id);
      }
      expect(runtime.stats().inMemory).toBe(3);
      expect(runtime.getTask(ids[0])).toBeUndefined();
      expect(runtime.getTask(ids[9])?.result()).toEqual({ n: 9 });
    } finally {
      await runtime.close();
    }
  });
});
