/**
 * `task.subscribe()` right after `start()` (the README's own example) hears every event from the
 * beginning, whether the workflow finished inside `start()` or is still running.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime, type NodeExecutor, type TaskEvent } from '../src/index.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { chain, delayNode, echoNode, endNode, input, ref, startNode, workflow } from './fixtures/workflow-builders.js';

/** Reports progress at once (inside start(), before anyone can subscribe), then works for a while. */
const progressing: NodeExecutor = {
  type: 'progressing',
  execute(context) {
    context.progress({ step: 'sent' });
    return new Promise((resolve) => setTimeout(() => resolve({ outputs: {} }), 20));
  },
};
const runtime = createRuntime({ executors: [...testExecutors(), progressing] });
afterAll(() => runtime.close());

const fast = workflow(
  [startNode('start_0', { v: 'string' }), echoNode('echo_0', { v: input('string', ref('start_0', 'v')) }), endNode('end_0', { v: input('string', ref('echo_0', 'v')) })],
  chain('start_0', 'echo_0', 'end_0'),
);
const slow = workflow([startNode('start_0', {}), delayNode('wait', 30), endNode('end_0')], chain('start_0', 'wait', 'end_0'));

const kinds = (events: TaskEvent[]): string[] => events.map((event) => `${event.type}${'nodeID' in event && event.nodeID ? ` ${event.nodeID}` : ''}`);

describe('task.subscribe', () => {
  it('hears a fast workflow from workflow_started to workflow_finished, each event once', async () => {
    const task = runtime.start(fast, { v: 'x' });
    const heard: TaskEvent[] = [];
    task.subscribe((event) => heard.push(event));
    await task.wait();
    expect(kinds(heard)).toEqual([
      'workflow_started',
      'node_started start_0',
      'node_finished start_0',
      'node_started echo_0',
      'node_finished echo_0',
      'node_started end_0',
      'node_finished end_0',
      'workflow_finished',
    ]);
    expect(heard).toEqual(task.events());
  });

  it('hears the past and then the live events of a running workflow, in order', async () => {
    const task = runtime.start(slow);
    const heard: TaskEvent[] = [];
    task.subscribe((event) => heard.push(event));
    expect(heard[0]?.type).toBe('workflow_started');
    await task.wait();
    expect(kinds(heard)).toEqual([
      'workflow_started',
      'node_started start_0',
      'node_finished start_0',
      'node_started wait',
      'node_finished wait',
      'node_started end_0',
      'node_finished end_0',
      'workflow_finished',
    ]);
  });

  it('hears the progress a node reported inside start()', async () => {
    const schema = workflow([startNode('start_0', {}), { id: 'p', type: 'progressing', data: {} }, endNode('end_0')], chain('start_0', 'p', 'end_0'));
    const task = runtime.start(schema);
    const heard: TaskEvent[] = [];
    task.subscribe((event) => heard.push(event));
    await task.wait();
    expect(kinds(heard).slice(0, 6)).toEqual(['workflow_started', 'node_started start_0', 'node_finished start_0', 'node_started p', 'node_progress p', 'node_finished p']);
    expect(heard[4]).toMatchObject({ data: { step: 'sent' } });
  });

  it('a listener that unsubscribes or cancels during the replay breaks nothing; replay: false hears only what comes next', async () => {
    const task = runtime.start(slow);
    const first: string[] = [];
    const unsubscribe = task.subscribe((event) => {
      first.push(event.type);
      if (event.type === 'node_started') task.cancel('seen enough');
    });
    const liveOnly: string[] = [];
    task.subscribe((event) => liveOnly.push(event.type), { replay: false });
    await task.done;
    unsubscribe();
    expect(first[0]).toBe('workflow_started');
    expect(first.at(-1)).toBe('workflow_finished');
    expect(task.status).toBe('canceled');
    expect(liveOnly).not.toContain('workflow_started');
  });
});
