import { describe, expect, it } from 'vitest';
import { Retention, type RetainedTask } from './retention.js';

/** What retention sees of a `Task`. */
function task(id: string, endTime?: number): RetainedTask {
  return { id, ended: endTime !== undefined, endTime, endedAt: 0 };
}

describe('Retention', () => {
  it('keeps at most maxTasks ended tasks, letting the oldest go first; running ones stay', () => {
    const tasks = new Map<string, RetainedTask>();
    const retention = new Retention(tasks, { maxTasks: 3 });
    const now = Date.now();
    retention.track(task('running'));
    for (let i = 0; i < 6; i++) retention.track(task(`t${i}`, now + i));
    expect([...tasks.keys()]).toEqual(['running', 't3', 't4', 't5']);
  });

  it('takes a task in when it ends, at its end time', () => {
    const tasks = new Map<string, RetainedTask>();
    const retention = new Retention(tasks);
    const t = task('t');
    retention.track(t);
    expect(retention.retired(t)).toBe(false);
    Object.assign(t, { ended: true, endTime: 12_345 });
    retention.retire(t);
    expect(retention.retired(t)).toBe(true);
    expect(t.endedAt).toBe(12_345);
  });

  it('lets go of ended tasks older than maxAgeMs when pruned', () => {
    const tasks = new Map<string, RetainedTask>();
    const retention = new Retention(tasks, { maxAgeMs: 1_000 });
    retention.track(task('old', 10_000));
    retention.track(task('new', 10_500));
    retention.prune(11_000);
    expect([...tasks.keys()]).toEqual(['old', 'new']); // exactly maxAgeMs old: still kept
    retention.prune(11_001);
    expect([...tasks.keys()]).toEqual(['new']);
    retention.prune(11_501);
    expect(tasks.size).toBe(0);
  });

  it('keeps a task that runs again after it was taken in (a signalled wait) until it ends', () => {
    const tasks = new Map<string, RetainedTask>();
    const retention = new Retention(tasks, { maxTasks: 1 });
    const waiter = task('waiter');
    retention.track(waiter);
    retention.retire(waiter); // waits in a store
    retention.reopen(waiter); // signalled: runs again
    for (let i = 0; i < 3; i++) retention.track(task(`t${i}`, Date.now()));
    expect(tasks.get('waiter')).toBe(waiter);
    Object.assign(waiter, { ended: true, endTime: Date.now() });
    retention.retire(waiter);
    expect([...tasks.keys()]).toEqual(['waiter']);
  });

  it('never lets go of a later task that reuses a pruned task ID', () => {
    const tasks = new Map<string, RetainedTask>();
    const retention = new Retention(tasks, { maxTasks: 1 });
    retention.track(task('same', 1));
    const resumed = task('same'); // resumed under the same ID: replaces it
    retention.track(resumed);
    retention.track(task('other', 2));
    expect(tasks.get('same')).toBe(resumed);
  });

  it('stays bounded over many tasks', () => {
    const tasks = new Map<string, RetainedTask>();
    const retention = new Retention(tasks, { maxTasks: 10 });
    for (let i = 0; i < 5_000; i++) retention.track(task(`t${i}`, 1 + i));
    expect(tasks.size).toBe(10);
    expect(tasks.has('t4999')).toBe(true);
    expect(tasks.has('t4989')).toBe(false);
  });
});
