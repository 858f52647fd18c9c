/**
 * Continuing from checkpoints: a task cut off after any number of its events continues from what they
 * recorded, runs each node that had not finished exactly once and nothing that had, and ends with the
 * outputs of an uninterrupted run.
 */
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime, type NodeExecutor, type TaskEvent } from '../src/index.js';
import {
  blockEnd,
  blockStart,
  chain,
  conditionNode,
  edge,
  endNode,
  input,
  loopNode,
  ref,
  startNode,
  workflow,
} from './fixtures/workflow-builders.js';

/** Calls per node ID (and per item inside the loop), reset per run. */
let calls = new Map<string, number>();
const tally: NodeExecutor = {
  type: 'tally',
  async execute(context) {
    await new Promise((resolve) => setImmediate(resolve));
    const key = context.inputs.item === undefined ? context.node.id : `${context.node.id}[${String(context.inputs.item)}]`;
    calls.set(key, (calls.get(key) ?? 0) + 1);
    return { outputs: { value: `${context.node.id}(${JSON.stringify(context.inputs)})` } };
  },
};
const tallyNode = (id: string, inputs: Parameters<typeof endNode>[1] = {}): ReturnType<typeof endNode> => ({
  id,
  type: 'tally',
  data: { title: id, ...endNode(id, inputs).data, outputs: { type: 'object', properties: { value: { type: 'string' } } } },
});

const ITEMS = ['i0', 'i1', 'i2', 'i3', 'i4'];
// start → condition → (a | b) → c → loop over items (body: t) → end
const schema = workflow(
  [
    startNode('start_0', { flag: 'boolean', items: { type: 'array', items: { type: 'string' } } }),
    conditionNode('cond', [{ key: 'if_flag', left: ref('start_0', 'flag'), operator: 'is_true' }]),
    tallyNode('a', { flag: input('boolean', ref('start_0', 'flag')) }),
    tallyNode('b', { flag: input('boolean', ref('start_0', 'flag')) }),
    tallyNode('c', { a: input('string', ref('a', 'value')), b: input('string', ref('b', 'value')) }),
    loopNode('loop', {
      loopFor: ref('start_0', 'items'),
      blocks: [blockStart('bs'), tallyNode('t', { item: input('string', ref('loop_locals', 'item')), c: input('string', ref('c', 'value')) }), blockEnd('be')],
      edges: chain('bs', 't', 'be'),
      loopOutputs: { values: ref('t', 'value') },
    }),
    endNode('end_0', { values: input({ type: 'array', items: { type: 'string' } }, ref('loop', 'values')), c: input('string', ref('c', 'value')) }),
  ],
  [edge('start_0', 'cond'), edge('cond', 'a', 'if_flag'), edge('cond', 'b', 'else'), edge('a', 'c'), edge('b', 'c'), edge('c', 'loop'), edge('loop', 'end_0')],
);

const runtime = createRuntime({ executors: [tally], checkpoints: true });
afterAll(() => runtime.close());

const JOURNALED = new Set(['node_started', 'node_finished', 'node_progress', 'loop_iteration']);

describe('continuing a task from its checkpoints', () => {
  for (const flag of [true, false]) {
    it(`runs only what had not finished, and ends as an uninterrupted run (flag ${flag})`, async () => {
      const inputs = { flag, items: ITEMS };
      calls = new Map();
      const task = runtime.start(schema, inputs);
      const events: TaskEvent[] = [];
      task.subscribe((event) => events.push(event)); // the events so far, then live ones
      const expected = await task.wait();
      const all = new Map(calls);
      expect(events.filter((event) => event.type === 'loop_iteration')).toHaveLength(ITEMS.length);

      const journal = events.filter((event) => JOURNALED.has(event.type));
      for (let cut = 0; cut <= journal.length; cut++) {
        const prefix = journal.slice(0, cut);
        const finished = new Set(prefix.flatMap((event) => (event.type === 'node_finished' && event.status === 'succeeded' ? [event.nodeID] : [])));
        const loopDone = finished.has('loop');
        const iterations = loopDone ? ITEMS.length : prefix.filter((event) => event.type === 'loop_iteration').length;
        calls = new Map();
        const resumed = runtime.continueTask({ id: `cut-${flag}-${cut}`, schema: JSON.stringify(schema), inputs, startTime: 0, createdAt: 0 }, { events: prefix });
        expect(await resumed.wait(), `outputs after a cut at event ${cut}`).toEqual(expected);
        const want = new Map<string, number>();
        for (const [key, count] of all) {
          const item = /^t\[i(\d)\]$/.exec(key);
          const done = item ? Number(item[1]) < iterations : finished.has(key);
          if (!done) want.set(key, count);
        }
        expect(calls, `calls after a cut at event ${cut}`).toEqual(want);
        TaskReportDefine.schema.output.parse(resumed.report());
      }
    });
  }
});
