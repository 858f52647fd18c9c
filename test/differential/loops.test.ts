/**
 * Loops on both engines: iteration order, locals, collected outputs, continue and break (nested too),
 * failures inside the body. Where we deliberately differ, the test name says so.
 */
import { describe, expect, it } from 'vitest';
import {
  blockEnd,
  blockStart,
  breakNode,
  chain,
  conditionNode,
  constant,
  continueNode,
  echoNode,
  edge,
  endNode,
  failNode,
  input,
  loopNode,
  objectSchema,
  ref,
  startNode,
  template,
  workflow,
  type EdgeSchema,
  type FlowValue,
  type JsonSchema,
  type NodeSchema,
} from '../fixtures/workflow-builders.js';
import { outcomeOf, runBoth, runOurs, useDifferentialRuntime } from './harness.js';

const runtime = useDifferentialRuntime();

const strings: JsonSchema = { type: 'array', items: { type: 'string' } };
const integers: JsonSchema = { type: 'array', items: { type: 'integer' } };
/** Rows of cells; upstream only knows an array's items type through a path ref, so inner loops use `item.cells`. */
const rowsOf = (cells: JsonSchema): JsonSchema => ({ type: 'array', items: { type: 'object', properties: { cells } } });
const rows = (...cells: unknown[][]): Array<{ cells: unknown[] }> => cells.map((row) => ({ cells: row }));

/** start → loop → end, with the loop's collected outputs as the workflow's outputs. */
function around(
  loop: NodeSchema,
  startOutputs: Record<string, string | JsonSchema>,
  results: Record<string, JsonSchema | string>,
  globals?: JsonSchema,
): ReturnType<typeof workflow> {
  const endInputs = Object.fromEntries(Object.entries(results).map(([key, schema]) => [key, input(schema, ref(loop.id, key))]));
  return workflow([startNode('start_0', startOutputs), loop, endNode('end_0', endInputs)], chain('start_0', loop.id, 'end_0'), globals);
}

/** A loop body: block-start → …middle → block-end, plus any extra nodes and edges. */
function body(middle: NodeSchema[], extraNodes: NodeSchema[] = [], extraEdges: EdgeSchema[] = [], prefix = ''): { blocks: NodeSchema[]; edges: EdgeSchema[] } {
  const ids = [`${prefix}block_start`, ...middle.map((node) => node.id), `${prefix}block_end`];
  return {
    blocks: [blockStart(`${prefix}block_start`), ...middle, blockEnd(`${prefix}block_end`), ...extraNodes],
    edges: [...chain(...ids), ...extraEdges],
  };
}

const item = (loopID: string, ...path: string[]): FlowValue => ref(`${loopID}_locals`, 'item', ...path);

describe('loops: same as upstream', () => {
  it('iterates in order and collects item, index and a value computed in the body', async () => {
    const loop = loopNode('loop_0', {
      loopFor: ref('start_0', 'words'),
      ...body([echoNode('shout', { text: input('string', template('{{loop_0_locals.item}}!')) })]),
      loopOutputs: { items: item('loop_0'), indexes: ref('loop_0_locals', 'index'), shouted: ref('shout', 'text') },
      outputs: { items: strings, indexes: { type: 'array', items: { type: 'number' } }, shouted: strings },
    });
    const schema = around(loop, { words: strings }, { items: strings, indexes: { type: 'array', items: { type: 'number' } }, shouted: strings });
    const { ours, upstream } = await runBoth(runtime, schema, { words: ['a', 'b', 'c'] });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ items: ['a', 'b', 'c'], indexes: [0, 1, 2], shouted: ['a!', 'b!', 'c!'] });
    expect(ours.nodes.shout.runs).toBe(3);
  });

  it('an empty array runs no iteration and collects empty arrays', async () => {
    const loop = loopNode('loop_0', { loopFor: ref('start_0', 'words'), ...body([]), loopOutputs: { items: item('loop_0') }, outputs: { items: strings } });
    const { ours, upstream } = await runBoth(runtime, around(loop, { words: strings }, { items: strings }), { words: [] });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ items: [] });
  });

  it('continue skips the rest of an iteration and leaves it out of the collected outputs', async () => {
    const loop = loopNode('loop_0', {
      loopFor: ref('start_0', 'numbers'),
      blocks: [
        blockStart('block_start'),
        conditionNode('is_big', [{ key: 'if_big', left: item('loop_0'), operator: 'gt', right: constant(2) }]),
        blockEnd('block_end'),
        continueNode('skip'),
      ],
      edges: [edge('block_start', 'is_big'), edge('is_big', 'block_end', 'if_big'), edge('is_big', 'skip', 'else')],
      loopOutputs: { big: item('loop_0') },
      outputs: { big: integers },
    });
    const { ours, upstream } = await runBoth(runtime, around(loop, { numbers: integers }, { big: integers }), { numbers: [1, 5, 2, 7] });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ big: [5, 7] });
  });

  it('break ends the loop at the first matching item', async () => {
    const loop = loopNode('loop_0', {
      loopFor: ref('start_0', 'numbers'),
      blocks: [
        blockStart('block_start'),
        conditionNode('is_stop', [{ key: 'if_stop', left: item('loop_0'), operator: 'eq', right: constant(0) }]),
        blockEnd('block_end'),
        breakNode('stop'),
      ],
      edges: [edge('block_start', 'is_stop'), edge('is_stop', 'stop', 'if_stop'), edge('is_stop', 'block_end', 'else')],
      loopOutputs: { seen: item('loop_0') },
      outputs: { seen: integers },
    });
    const { ours, upstream } = await runBoth(runtime, around(loop, { numbers: integers }, { seen: integers }), { numbers: [3, 4, 0, 9, 9] });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ seen: [3, 4] });
    expect(ours.nodes.is_stop.runs).toBe(3);
  });

  it('nested loops: the inner loop runs per outer item and its outputs collect into arrays of arrays', async () => {
    const inner = loopNode('inner', {
      loopFor: item('outer', 'cells'),
      ...body([echoNode('pair', { text: input('string', template('{{outer_locals.index}}:{{inner_locals.item}}')) })], [], [], 'inner_'),
      loopOutputs: { pairs: ref('pair', 'text') },
      outputs: { pairs: strings },
    });
    const outer = loopNode('outer', {
      loopFor: ref('start_0', 'grid'),
      ...body([inner], [], [], 'outer_'),
      loopOutputs: { rows: ref('inner', 'pairs') },
      outputs: { rows: { type: 'array', items: strings } },
    });
    const schema = around(outer, { grid: rowsOf(strings) }, { rows: { type: 'array', items: strings } });
    const { ours, upstream } = await runBoth(runtime, schema, { grid: rows(['a', 'b'], ['c']) });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ rows: [['0:a', '0:b'], ['1:c']] });
  });

  it('break inside an inner loop ends only the inner loop', async () => {
    const inner = loopNode('inner', {
      loopFor: item('outer', 'cells'),
      blocks: [
        blockStart('inner_start'),
        conditionNode('is_stop', [{ key: 'if_stop', left: item('inner'), operator: 'eq', right: constant('stop') }]),
        blockEnd('inner_end'),
        breakNode('stop'),
      ],
      edges: [edge('inner_start', 'is_stop'), edge('is_stop', 'stop', 'if_stop'), edge('is_stop', 'inner_end', 'else')],
      loopOutputs: { kept: item('inner') },
      outputs: { kept: strings },
    });
    const outer = loopNode('outer', {
      loopFor: ref('start_0', 'grid'),
      ...body([inner], [], [], 'outer_'),
      loopOutputs: { rows: ref('inner', 'kept'), index: ref('outer_locals', 'index') },
      outputs: { rows: { type: 'array', items: strings }, index: { type: 'array', items: { type: 'number' } } },
    });
    const schema = around(outer, { grid: rowsOf(strings) }, { rows: { type: 'array', items: strings }, index: { type: 'array', items: { type: 'number' } } });
    const { ours, upstream } = await runBoth(runtime, schema, { grid: rows(['a', 'stop', 'b'], ['c', 'd'], ['stop']) });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ rows: [['a'], ['c', 'd'], []], index: [0, 1, 2] });
  });

  it('continue inside an inner loop skips only the inner iteration', async () => {
    const inner = loopNode('inner', {
      loopFor: item('outer', 'cells'),
      blocks: [
        blockStart('inner_start'),
        conditionNode('is_skip', [{ key: 'if_skip', left: item('inner'), operator: 'lt', right: constant(0) }]),
        blockEnd('inner_end'),
        continueNode('skip'),
      ],
      edges: [edge('inner_start', 'is_skip'), edge('is_skip', 'skip', 'if_skip'), edge('is_skip', 'inner_end', 'else')],
      loopOutputs: { kept: item('inner') },
      outputs: { kept: integers },
    });
    const outer = loopNode('outer', {
      loopFor: ref('start_0', 'grid'),
      ...body([inner], [], [], 'outer_'),
      loopOutputs: { rows: ref('inner', 'kept') },
      outputs: { rows: { type: 'array', items: integers } },
    });
    const schema = around(outer, { grid: rowsOf(integers) }, { rows: { type: 'array', items: integers } });
    const { ours, upstream } = await runBoth(runtime, schema, { grid: rows([1, -1, 2], [-3, 4]) });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ rows: [[1, 2], [4]] });
  });

  it('loops over objects, with refs into the item and a global array as loopFor', async () => {
    const people = { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } };
    const globals = objectSchema({ people: { ...people, default: JSON.stringify([{ name: 'Ada' }, { name: 'Alan' }]) } });
    const loop = loopNode('loop_0', {
      loopFor: ref('global', 'people'),
      ...body([echoNode('greet', { text: input('string', template('hi {{loop_0_locals.item.name}}')) })]),
      loopOutputs: { names: item('loop_0', 'name'), greetings: ref('greet', 'text') },
      outputs: { names: strings, greetings: strings },
    });
    const { ours, upstream } = await runBoth(runtime, around(loop, {}, { names: strings, greetings: strings }, globals));
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ names: ['Ada', 'Alan'], greetings: ['hi Ada', 'hi Alan'] });
  });

  it('a condition after the loop sees its collected outputs', async () => {
    const loop = loopNode('loop_0', { loopFor: ref('start_0', 'words'), ...body([]), loopOutputs: { items: item('loop_0') }, outputs: { items: strings } });
    const schema = workflow(
      [
        startNode('start_0', { words: strings }),
        loop,
        conditionNode('any', [{ key: 'if_any', left: ref('loop_0', 'items'), operator: 'is_not_empty' }]),
        echoNode('some', { r: input('string', constant('some')) }),
        echoNode('none', { r: input('string', constant('none')) }),
        endNode('end_0', { some: input('string', ref('some', 'r')), none: input('string', ref('none', 'r')) }),
      ],
      [
        ...chain('start_0', 'loop_0', 'any'),
        edge('any', 'some', 'if_any'),
        edge('any', 'none', 'else'),
        edge('some', 'end_0'),
        edge('none', 'end_0'),
      ],
    );
    const { ours, upstream } = await runBoth(runtime, schema, { words: ['x'] });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ some: 'some' });
  });

  it('a failing node in the body fails the loop and the workflow', async () => {
    const loop = loopNode('loop_0', {
      loopFor: ref('start_0', 'words'),
      ...body([failNode('boom', 'exploded')]),
      loopOutputs: { items: item('loop_0') },
      outputs: { items: strings },
    });
    const { ours, upstream } = await runBoth(runtime, around(loop, { words: strings }, { items: strings }), { words: ['a', 'b'] });
    expect(ours).toEqual(upstream);
    expect(ours.status).toBe('failed');
    expect(ours.nodes.boom).toEqual({ status: 'failed', runs: 1, branches: [] });
    expect(ours.nodes.loop_0.status).toBe('failed');
    expect(ours.nodes.end_0).toBeUndefined();
  });

  it('a loopFor that is neither an array nor an object fails the loop node, saying so', async () => {
    const loop = loopNode('loop_0', { loopFor: ref('start_0', 'word'), ...body([]), loopOutputs: { items: item('loop_0') } });
    for (const [type, value] of [['string', 'not a list'], ['number', 3]] as const) {
      const { ours, upstream, oursReport } = await runBoth(runtime, around(loop, { word: type }, { items: strings }), { word: value });
      expect(ours).toEqual(upstream);
      expect(ours.nodes.loop_0.status).toBe('failed');
      expect(oursReport.reports.loop_0.snapshots[0].error).toMatch(new RegExp(`Loop "loopFor" must be an array or object, got a ${type}`));
    }
  });
});

describe('loops: intended behaviour where upstream 1.0.9 differs', () => {
  // Mirrors upstream's newer js-core/src/domain/__tests__/schemas/loop.test.ts ("should execute a workflow over
  // object entries"); 1.0.9 only iterates arrays.
  it('loop.test.ts › should execute a workflow over object entries: key order, with key, item and index', async () => {
    const loop = loopNode('loop_0', {
      loopFor: ref('start_0', 'taskMap'),
      ...body([echoNode('label', { text: input('string', template('{{loop_0_locals.index}}:{{loop_0_locals.key}}={{loop_0_locals.item}}')) })]),
      loopOutputs: { items: item('loop_0'), keys: ref('loop_0_locals', 'key'), indexes: ref('loop_0_locals', 'index'), labels: ref('label', 'text') },
    });
    const schema = around(loop, { taskMap: 'object' }, { items: strings, keys: strings, indexes: { type: 'array', items: { type: 'number' } }, labels: strings });
    const taskMap = { first: 'TASK - A', second: 'TASK - B', third: 'TASK - C' };
    const { ours, upstream } = await runBoth(runtime, schema, { taskMap });
    expect(upstream.status).toBe('failed');
    expect(ours.status).toBe('succeeded');
    expect(ours.outputs).toEqual({
      items: ['TASK - A', 'TASK - B', 'TASK - C'],
      keys: ['first', 'second', 'third'],
      indexes: [0, 1, 2],
      labels: ['0:first=TASK - A', '1:second=TASK - B', '2:third=TASK - C'],
    });
  });

  it('an object loopFor types each entry by its own value (refs into an object item, arrays, numbers)', async () => {
    const loop = loopNode('loop_0', {
      loopFor: ref('start_0', 'mixed'),
      ...body([]),
      loopOutputs: { keys: ref('loop_0_locals', 'key'), names: item('loop_0', 'name'), items: item('loop_0') },
    });
    const schema = around(loop, { mixed: 'object' }, { keys: strings, names: { type: 'array' }, items: { type: 'array' } });
    const report = await runOurs(runtime, schema, { mixed: { b: { name: 'Ada' }, a: [1, 2], c: 7 } });
    expect(outcomeOf(report).status).toBe('succeeded');
    // Object key order is insertion order (integer-like keys first, as in JavaScript).
    expect(report.outputs).toEqual({ keys: ['b', 'a', 'c'], names: ['Ada', null, null], items: [{ name: 'Ada' }, [1, 2], 7] });
  });

  // Mirrors upstream's newer loop.test.ts ("should execute a workflow over object entries") with a null entry. No
  // upstream test has one; its newer loop executor types each entry with WorkflowRuntimeType.getWorkflowType, which
  // answers "null" for null (as in 1.0.9), so it iterates the entry too: it throws "contains unsupported object item"
  // only for values JSON cannot carry. (Collecting such items with others into one loopOutputs array is where
  // upstream throws "Array items type must be same": a listed difference, tested above.)
  it('loop.test.ts › object entries: a null value is an iteration like any other (item null, its key and index)', async () => {
    const loop = loopNode('loop_0', {
      loopFor: ref('start_0', 'taskMap'),
      ...body([echoNode('label', { text: input('string', template('{{loop_0_locals.index}}:{{loop_0_locals.key}}={{loop_0_locals.item}}')) })]),
      loopOutputs: { keys: ref('loop_0_locals', 'key'), indexes: ref('loop_0_locals', 'index'), labels: ref('label', 'text') },
    });
    const schema = around(loop, { taskMap: 'object' }, { keys: strings, indexes: { type: 'array', items: { type: 'number' } }, labels: strings });
    const report = await runOurs(runtime, schema, { taskMap: { first: 'TASK - A', second: null, third: 'TASK - C' } });
    expect(outcomeOf(report).status).toBe('succeeded');
    expect(report.outputs).toEqual({ keys: ['first', 'second', 'third'], indexes: [0, 1, 2], labels: ['0:first=TASK - A', '1:second=', '2:third=TASK - C'] });
  });

  it('an empty object runs no iteration', async () => {
    const loop = loopNode('loop_0', { loopFor: ref('start_0', 'none'), ...body([]), loopOutputs: { keys: ref('loop_0_locals', 'key') } });
    const report = await runOurs(runtime, around(loop, { none: 'object' }, { keys: strings }), { none: {} });
    expect(report.outputs).toEqual({ keys: [] });
  });

  it('an inner loop iterates the outer item directly when it is an array (upstream fails: it loses the items type)', async () => {
    const inner = loopNode('inner', { loopFor: item('outer'), ...body([], [], [], 'inner_'), loopOutputs: { cells: item('inner') } });
    const outer = loopNode('outer', { loopFor: ref('start_0', 'grid'), ...body([inner], [], [], 'outer_'), loopOutputs: { rows: ref('inner', 'cells') } });
    const schema = around(outer, { grid: { type: 'array', items: strings } }, { rows: { type: 'array', items: strings } });
    const { ours, upstream } = await runBoth(runtime, schema, { grid: [['a', 'b'], ['c']] });
    expect(upstream.status).toBe('failed');
    expect(ours.outputs).toEqual({ rows: [['a', 'b'], ['c']] });
  });

  it('iterates a loopFor array whose items type is not declared (upstream fails: "loopFor.items must be array items")', async () => {
    const loop = loopNode('loop_0', { loopFor: ref('start_0', 'list'), ...body([]), loopOutputs: { items: item('loop_0') } });
    const schema = around(loop, { list: { type: 'array' } }, { items: { type: 'array' } });
    const { ours, upstream } = await runBoth(runtime, schema, { list: [1, 'two'] });
    expect(upstream.status).toBe('failed');
    expect(ours.status).toBe('succeeded');
    expect(ours.outputs).toEqual({ items: [1, 'two'] });
  });

  it('collects loop outputs of mixed item types (upstream throws "Array items type must be same")', async () => {
    const loop = loopNode('loop_0', { loopFor: ref('start_0', 'list'), ...body([]), loopOutputs: { at: item('loop_0', 'at') } });
    const schema = around(loop, { list: { type: 'array', items: { type: 'object' } } }, { at: { type: 'array' } });
    const { ours, upstream } = await runBoth(runtime, schema, { list: [{ at: 1 }, { at: 'x' }] });
    expect(upstream.status).toBe('failed');
    expect(ours.outputs).toEqual({ at: [1, 'x'] });
  });

  it('collects null for a loopOutputs ref that resolves to nothing (upstream crashes on it)', async () => {
    const loop = loopNode('loop_0', { loopFor: ref('start_0', 'list'), ...body([]), loopOutputs: { ghost: ref('start_0', 'nothing') } });
    const schema = around(loop, { list: integers }, { ghost: { type: 'array' } });
    const { ours, upstream } = await runBoth(runtime, schema, { list: [1, 2] });
    expect(upstream.status).toBe('failed');
    expect(ours.outputs).toEqual({ ghost: [null, null] });
  });

  it('nodes inside a loop body see the outer workflow values and the loop node fails with the inner error message', async () => {
    const loop = loopNode('loop_0', {
      loopFor: ref('start_0', 'words'),
      ...body([failNode('boom', 'exploded')]),
    });
    const report = await runOurs(runtime, around(loop, { words: strings }, {}), { words: ['a'] });
    expect(outcomeOf(report).status).toBe('failed');
    expect(report.reports.loop_0.snapshots[0].error).toMatch(/boom.*exploded/);
  });
});
