import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors.js';
import { Admission, type Admittable } from './admission.js';

/** An execution that only records when admission starts it (what admission sees of a `WorkflowExecution`). */
class Execution implements Admittable {
  started = false;
  suspended = false;
  ended = false;
  constructor(
    readonly name: string,
    private readonly log: string[],
  ) {}
  start(): void {
    this.started = true;
    this.log.push(this.name);
  }
}

/** Lets admission's microtask (which fills freed slots) run. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Admission', () => {
  it('runs everything at once by default', () => {
    const log: string[] = [];
    const admission = new Admission();
    for (let i = 0; i < 50; i++) {
      admission.checkRoom();
      admission.submit(new Execution(`e${i}`, log));
    }
    expect(log).toHaveLength(50);
    expect(admission.running).toBe(50);
    expect(admission.queued).toBe(0);
  });

  it('starts up to maxRunningTasks and admits the waiting ones in the order they came as slots free', async () => {
    const log: string[] = [];
    const admission = new Admission<Execution>({ maxRunningTasks: 2 });
    const executions = ['a', 'b', 'c', 'd', 'e'].map((name) => new Execution(name, log));
    for (const execution of executions) admission.submit(execution);
    expect(log).toEqual(['a', 'b']);
    expect({ running: admission.running, queued: admission.queued }).toEqual({ running: 2, queued: 3 });

    executions[1].ended = true;
    admission.ended(executions[1]);
    expect(log).toEqual(['a', 'b']); // in a microtask, not on the ending execution's stack
    await settled();
    expect(log).toEqual(['a', 'b', 'c']);

    executions[0].ended = true;
    admission.ended(executions[0]);
    executions[2].ended = true;
    admission.ended(executions[2]);
    await settled();
    expect(log).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect({ running: admission.running, queued: admission.queued }).toEqual({ running: 2, queued: 0 });
  });

  it('skips an execution that ended (was cancelled) while it waited: it never starts nor takes a slot', async () => {
    const log: string[] = [];
    const admission = new Admission<Execution>({ maxRunningTasks: 1 });
    const [a, b, c] = ['a', 'b', 'c'].map((name) => new Execution(name, log));
    admission.submit(a);
    admission.submit(b);
    admission.submit(c);
    b.ended = true;
    admission.ended(b); // never started: frees nothing
    expect(admission.running).toBe(1);
    a.ended = true;
    admission.ended(a);
    await settled();
    expect(log).toEqual(['a', 'c']);
    expect(b.started).toBe(false);
    expect({ running: admission.running, queued: admission.queued }).toEqual({ running: 1, queued: 0 });
  });

  it('refuses with LIMIT_EXCEEDED only when no slot is free and maxQueuedTasks wait', async () => {
    const log: string[] = [];
    const admission = new Admission<Execution>({ maxRunningTasks: 1, maxQueuedTasks: 2 });
    const a = new Execution('a', log);
    admission.checkRoom();
    admission.submit(a);
    admission.checkRoom();
    admission.submit(new Execution('b', log));
    admission.checkRoom();
    admission.submit(new Execution('c', log));
    let refused: unknown;
    try {
      admission.checkRoom();
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ code: ErrorCodes.LIMIT_EXCEEDED, message: 'maxQueuedTasks: 2 tasks are already waiting to run' });
    a.ended = true;
    admission.ended(a);
    await settled();
    expect(log).toEqual(['a', 'b']);
    expect(() => admission.checkRoom()).not.toThrow(); // one waits now
  });

  it('frees the slot of an execution waiting for a signal, and gives it one back (over the limit) when it runs again', async () => {
    const log: string[] = [];
    const admission = new Admission<Execution>({ maxRunningTasks: 1 });
    const [a, b] = ['a', 'b'].map((name) => new Execution(name, log));
    admission.submit(a);
    admission.submit(b);
    a.suspended = true;
    admission.suspended();
    await settled();
    expect(log).toEqual(['a', 'b']);
    expect(admission.running).toBe(1);

    a.suspended = false;
    admission.continued();
    expect(admission.running).toBe(2);
    a.ended = true;
    admission.ended(a);
    b.ended = true;
    admission.ended(b);
    expect(admission.running).toBe(0);
  });

  it('frees nothing for an execution that ends while it waits for a signal (its slot was already given back)', () => {
    const admission = new Admission<Execution>({ maxRunningTasks: 1 });
    const a = new Execution('a', []);
    admission.submit(a);
    a.suspended = true;
    admission.suspended();
    a.ended = true; // cancelled while it waited
    admission.ended(a);
    expect(admission.running).toBe(0);
  });
});
