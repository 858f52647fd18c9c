import { describe, expect, it } from 'vitest';
import { createRuntime } from '../runtime.js';
import type { NodeExecutor, TaskEvent } from './types.js';

const executors: NodeExecutor[] = [
  {
    type: 'chatty',
    async execute(context) {
      context.log.info(`hello from ${context.node.id}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
      context.progress({ partial: 'tok' });
      context.log.warn('done soon');
      if (context.node.data.fail) throw new Error('chatty failed');
      return { outputs: { said: 'hi' } };
    },
  },
];

const node = (id: string, type: string, data: Record<string, unknown> = {}): Record<string, unknown> => ({ id, type, data });
const schema = (fail: boolean): Record<string, unknown> => ({
  nodes: [
    node('start_0', 'start', { outputs: { type: 'object', properties: { list: { type: 'array', items: { type: 'integer' } } } } }),
    node('first', 'chatty'),
    {
      ...node('loop_0', 'loop', { loopFor: { type: 'ref', content: ['start_0', 'list'] } }),
      blocks: [node('bs', 'block-start'), node('inner', 'chatty', { fail }), node('be', 'block-end')],
      edges: [
        { sourceNodeID: 'bs', targetNodeID: 'inner' },
        { sourceNodeID: 'inner', targetNodeID: 'be' },
      ],
    },
    node('end_0', 'end'),
  ],
  edges: [
    { sourceNodeID: 'start_0', targetNodeID: 'first' },
    { sourceNodeID: 'first', targetNodeID: 'loop_0' },
    { sourceNodeID: 'loop_0', targetNodeID: 'end_0' },
  ],
});

describe('TaskRecorder event history', () => {
  for (const fail of [false, true]) {
    it(`replays exactly what a live listener heard (progress aside), ${fail ? 'failing' : 'succeeding'} workflow`, async () => {
      const runtime = createRuntime({ executors });
      try {
        const task = runtime.start(schema(fail), { list: [1, 2, 3] });
        // What SSE does: replay the past, then listen, in the same tick.
        const heard: TaskEvent[] = [...task.events()];
        expect(heard.map((event) => event.type)).toEqual(['workflow_started', 'node_started', 'node_finished', 'node_started', 'message']);
        task.subscribe((event) => heard.push(event));
        await task.done;
        expect(heard.some((event) => event.type === 'node_progress')).toBe(true);
        const replayed = task.events();
        expect(replayed).toEqual(heard.filter((event) => event.type !== 'node_progress'));
        expect(replayed.at(-1)).toMatchObject({ type: 'workflow_finished', status: fail ? 'failed' : 'succeeded' });
        expect(replayed.filter((event) => event.type === 'message').map((event) => (event as { message: string }).message)).toContain('hello from inner');
      } finally {
        await runtime.close();
      }
    });
  }

  it('keeps no event objects for tasks nobody watches, yet replays them in order', async () => {
    const runtime = createRuntime({ executors });
    try {
      const task = runtime.start(schema(false), { list: [1] });
      await task.done;
      const types = task.events().map((event) => `${event.type}${'nodeID' in event && event.nodeID ? `:${event.nodeID}` : ''}`);
      expect(types.filter((type) => type.startsWith('node_'))).toEqual([
        'node_started:start_0',
        'node_finished:start_0',
        'node_started:first',
        'node_finished:first',
        'node_started:loop_0',
        'node_started:bs',
        'node_finished:bs',
        'node_started:inner',
        'node_finished:inner',
        'node_started:be',
        'node_finished:be',
        'node_finished:loop_0',
        'node_started:end_0',
        'node_finished:end_0',
      ]);
    } finally {
      await runtime.close();
    }
  });
});
