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
