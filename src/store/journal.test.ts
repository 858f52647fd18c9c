import { describe, expect, it } from 'vitest';
import type { NodeExecutor } from '../engine/types.js';
import { createRuntime } from '../runtime.js';
import { TaskJournal } from './journal.js';
import { createMemoryStore } from './memory.js';
import type { StoreBatch, TaskStore } from './types.js';

/** A memory store that also records every batch it was given. */
function recordingStore(): { store: TaskStore; batches: StoreBatch[] } {
  const inner = createMemoryStore();
  const batches: StoreBatch[] = [];
  return {
    batches,
    store: {
      ...inner,
      write(batch) {
        batches.push(structuredClone(batch));
        return inner.write(batch);
      },
    },
  };
}

const node = (id: string, type: string, data: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  type,
  meta: { position: { x: 0, y: 0 } },
  data: { title: id, ...data },
});
const quick = { nodes: [node('start_0', 'start'), node('end_0', 'end')], edges: [{ sourceNodeID: 'start_0', targetNodeID: 'end_0' }] };
const gated = {
  nodes: [node('start_0', 'start'), node('gate', 'gate'), node('end_0', 'end')],
  edges: [
    { sourceNodeID: 'start_0', targetNodeID: 'gate' },
    { sourceNodeID: 'gate', targetNodeID: 'end_0' },
  ],
};

/** A node that reports progress, then waits until the test opens it. */
function gate(): { executor: NodeExecutor; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    open: () => open(),
    executor: {
      type: 'gate',
      async execute(context) {
        await Promise.resolve(); // past start(): the journal is listening
        context.progress({ step: 1 });
        context.progress({ step: 2 });
        await opened;
        return { outputs: {} };
      },
    },
  };
}

describe('TaskJournal (through the runtime)', () => {
  it('writes tasks that end synchronously once, already ended, in one batch', async () => {
    const { store, batches } = recordingStore();
    const runtime = createRuntime({ store });
    const tasks = [runtime.start(quick), runtime.start(quick), runtime.start(quick)];
    await Promise.all(tasks.map((task) => task.done));
    await runtime.listTasks();
    expect(batches).toHaveLength(1);
    expect(batches[0].tasks.map((task) => task.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(batches[0].reports).toHaveLength(3);
    expect(batches[0].updates).toEqual([]);
    expect(batches[0].events).toEqual([]);
    await runtime.close();
  });

  it('writes a running task at once, its node events later, and drops them when its report is written', async () => {
    const { store, batches } = recordingStore();
    const { executor, open } = gate();
    const runtime = createRuntime({ store, executors: [executor] });
    const task = runtime.start(gated);
    await null;
    expect(batches).toHaveLength(1); // accepted: durable before the caller's first await
    expect(batches[0].tasks[0]).toMatchObject({ id: task.id, status: 'processing' });

    await runtime.listTasks(); // forces the journal out
    const events = batches.flatMap((batch) => batch.events);
    expect(events.map((event) => event.type)).toEqual(['node_started', 'node_finished', 'node_started', 'node_progress']);
    expect(events[3]).toMatchObject({ nodeID: 'gate', data: { step: 2 } }); // progress merged
    expect(await store.getEvents(task.id)).toHaveLength(4);

    open();
    await task.done;
    await runtime.listTasks();
    const last = batches[batches.length - 1];
    expect(last.updates).toEqual([expect.objectContaining({ id: task.id, status: 'succeeded' })]);
    expect(last.reports.map((report) => report.taskID)).toEqual([task.id]);
    expect(await store.getEvents(task.id)).toEqual([]);
    await runtime.close();
  });

  it('hands batches to an asynchronous store without waiting for earlier ones, and answers only once they are written', async () => {
    const inner = createMemoryStore();
    /** Each write settles when the test says so (in order, as a store must). */
    const settle: Array<() => void> = [];
    const store: TaskStore = {
      ...inner,
      write: (batch) =>
        new Promise<void>((resolve) =>
          settle.push(() => {
            void inner.write(batch);
            resolve();
          }),
        ),
    };
    const { executor, open } = gate();
    const runtime = createRuntime({ store, executors: [executor] });
    const first = runtime.start(gated);
    await null;
    runtime.start(gated);
    await null;
    expect(settle).toHaveLength(2); // the second accept write did not wait for the first

    open();
    await first.done;
    let answered = false;
    const result = runtime.getResult(first.id).then((value) => {
      answered = true;
      return value;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false); // its outcome is not shown before it is durable
    while (!answered) {
      settle.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(settle).toEqual([]);
    expect(await result).toEqual({ status: 'succeeded', outputs: {} });
    expect(await inner.getTask(first.id)).toMatchObject({ status: 'succeeded' });
    await runtime.close();
  });
});

describe('TaskJournal heartbeats', () => {
  it('skip a beat while the last one still waits for the store, instead of queueing behind it', async () => {
    // A locked SQLite file holds a heartbeat for up to busyTimeoutMs (5 s), longer than leaseMs / 3.
    const inner = createMemoryStore();
    const answers: Array<() => void> = [];
    const store: TaskStore = { ...inner, heartbeat: () => new Promise<void>((resolve) => answers.push(resolve)) };
    const journal = new TaskJournal(store, { owner: 'runtime-a' });
    await journal.startRecovery(() => undefined, { leaseMs: 30 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answers).toHaveLength(1);
    // Once the store answers, the beats go on.
    answers[0]();
    const deadline = Date.now() + 5_000;
    while (answers.length < 3 && Date.now() < deadline) {
      answers.at(-1)?.();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(answers.length).toBeGreaterThanOrEqual(3);
    // Closing sends the final beat (removing the mark), which the store answers too.
    let closed = false;
    const closing = journal.close().then(() => (closed = true));
    const sent = answers.length;
    while (!closed && Date.now() < deadline) {
      for (const answer of answers) answer();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await closing;
    expect(answers.length).toBe(sent + 1);
  });
});
