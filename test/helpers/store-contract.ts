/** The claim rules every TaskStore must follow (see `TaskStore.claimAbandoned`), run against each store's tests. */
import { expect } from 'vitest';
import type { StoreBatch, TaskRecord, TaskStore } from '../../src/store/types.js';

export function record(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return { id, schemaHash: 'hash-1', schema: '{"nodes":[],"edges":[]}', inputs: { n: 1 }, status: 'processing', createdAt: 1_000, startTime: 1_000, ...overrides };
}

export const batch = (parts: Partial<StoreBatch>): StoreBatch => ({ tasks: [], updates: [], events: [], reports: [], ...parts });

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Only unfinished tasks of runtimes that are gone or silent for a lease are claimed, never a live one's or the caller's own. */
export async function expectClaimRules(store: TaskStore): Promise<void> {
  for (const owner of ['me', 'live', 'silent']) await store.heartbeat(owner, true);
  await store.write(
    batch({
      tasks: [
        record('mine', { owner: 'me' }),
        record('live', { owner: 'live' }),
        record('silent', { owner: 'silent' }),
        record('unowned'), // written before owners were recorded
        record('gone', { owner: 'gone' }), // no heartbeat at all
        record('ended', { owner: 'gone', status: 'succeeded', endTime: 2_000 }),
      ],
    }),
  );
  expect(await store.getTask('live')).toMatchObject({ owner: 'live' });
  await sleep(150);
  await store.heartbeat('me', true);
  await store.heartbeat('live', true);
  const claimed = await store.claimAbandoned('me', 100);
  expect(claimed.map((task) => task.id)).toEqual(['silent', 'unowned', 'gone']);
  expect(claimed.map((task) => task.owner)).toEqual(['me', 'me', 'me']);
  expect(await store.getTask('gone')).toMatchObject({ owner: 'me', status: 'processing' });
  expect(await store.claimAbandoned('other', 100)).toEqual([]); // claimed by a live runtime: taken by no one else
  await store.heartbeat('live', false); // it closed
  expect((await store.claimAbandoned('other', 100)).map((task) => task.id)).toEqual(['live']);
}

/** Listing and counting: status, time range and `q` (ID or title, case-insensitive, `%`/`_` literal) filter alike. */
export async function expectListingRules(store: TaskStore): Promise<void> {
  await store.write(
    batch({
      tasks: [
        record('order-1', { title: 'Orders → Invoice', status: 'succeeded', startTime: 1_000, endTime: 1_500 }),
        record('order-2', { title: 'Orders → Invoice', status: 'failed', startTime: 2_000, endTime: 2_100, error: { code: 'E', message: 'boom' } }),
        record('nightly', { title: '100%_done', status: 'processing', startTime: 3_000 }),
        record('untitled', { startTime: 4_000 }),
      ],
    }),
  );
  const ids = async (filter: Parameters<TaskStore['listTasks']>[0]): Promise<string[]> => (await store.listTasks(filter)).map((task) => task.id);
  const page = { limit: 10, offset: 0 };
  expect(await ids(page)).toEqual(['untitled', 'nightly', 'order-2', 'order-1']);
  expect((await store.listTasks(page)).map((task) => task.title)).toEqual(['', '100%_done', 'Orders → Invoice', 'Orders → Invoice']);
  expect(await ids({ ...page, q: 'orders' })).toEqual(['order-2', 'order-1']);
  expect(await ids({ ...page, q: 'ORDER-1' })).toEqual(['order-1']);
  expect(await ids({ ...page, q: '%_' })).toEqual(['nightly']);
  expect(await ids({ ...page, q: '_' })).toEqual(['nightly']);
  expect(await ids({ ...page, q: 'invoice', status: 'failed' })).toEqual(['order-2']);
  expect(await ids({ ...page, since: 2_000, until: 4_000 })).toEqual(['nightly', 'order-2']);
  expect(await store.countTasks({})).toEqual({ pending: 0, processing: 2, waiting: 0, succeeded: 1, failed: 1, canceled: 0 });
  expect(await store.countTasks({ q: 'orders', since: 1_500 })).toEqual({ pending: 0, processing: 0, waiting: 0, succeeded: 0, failed: 1, canceled: 0 });
}
