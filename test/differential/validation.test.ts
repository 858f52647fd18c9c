/**
 * Validation on both engines: every kind of schema and input error. We report all problems at once with
 * field paths; upstream stops at the first problem per check. Workflows that crash upstream's runner
 * (dangling edges) are only validated there, never run.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, FlowgramError } from '../../src/index.js';
import { validateUpstream } from '../fixtures/upstream-engine.js';
import {
  blockEnd,
  blockStart,
  chain,
  constant,
  edge,
  echoNode,
  endNode,
  input,
  loopNode,
  ref,
  startNode,
  workflow,
  type JsonSchema,
  type NodeSchema,
  type Schema,
} from '../fixtures/workflow-builders.js';
import { runBoth, useDifferentialRuntime } from './harness.js';

const runtime = useDifferentialRuntime();

const minimal = (middle: NodeSchema[] = [], extraEdges = chain('start_0', 'end_0')): Schema =>
  workflow([startNode('start_0', {}), ...middle, endNode('end_0')], extraEdges);

const emptyLoop = (id: string, blocks: NodeSchema[], edges = chain(...blocks.map((node) => node.id))): NodeSchema =>
  loopNode(id, { loopFor: ref('start_0', 'list'), blocks, edges });

const withLoop = (loop: NodeSchema): Schema =>
  workflow([startNode('start_0', { list: { type: 'array', items: { type: 'string' } } }), loop, endNode('end_0')], chain('start_0', loop.id, 'end_0'));

interface SchemaCase {
  name: string;
  schema: Schema;
  /** A fragment every one of our messages for this case must contain (a field path or the rule). */
  message: RegExp;
}

const SCHEMA_CASES: SchemaCase[] = [
  { name: 'no start node', schema: workflow([endNode('end_0')], []), message: /"start"/ },
  { name: 'no end node', schema: workflow([startNode('start_0', {})], []), message: /"end"/ },
  {
    name: 'two start nodes',
    schema: workflow([startNode('start_0', {}), startNode('start_1', {}), endNode('end_0')], [edge('start_0', 'end_0'), edge('start_1', 'end_0')]),
    message: /exactly one "start"/,
  },
  {
    name: 'two end nodes',
    schema: workflow([startNode('start_0', {}), endNode('end_0'), endNode('end_1')], [edge('start_0', 'end_0'), edge('start_0', 'end_1')]),
    message: /exactly one "end"/,
  },
  { name: 'a loop without block-start', schema: withLoop(emptyLoop('loop_0', [blockEnd('block_end')])), message: /nodes\[1\]\.blocks.*"block-start"/ },
  { name: 'a loop without block-end', schema: withLoop(emptyLoop('loop_0', [blockStart('block_start')])), message: /nodes\[1\]\.blocks.*"block-end"/ },
  {
    name: 'a loop with two block-starts',
    schema: withLoop(emptyLoop('loop_0', [blockStart('bs_1'), blockStart('bs_2'), blockEnd('block_end')], [edge('bs_1', 'block_end'), edge('bs_2', 'block_end')])),
    message: /exactly one "block-start"/,
  },
  {
    name: 'a cycle',
    schema: minimal(
      [echoNode('a', {}), echoNode('b', {})],
      [edge('start_0', 'a'), edge('a', 'b'), edge('b', 'a'), edge('b', 'end_0')],
    ),
    message: /cycle/,
  },
  {
    name: 'a cycle inside a loop body',
    schema: withLoop(
      emptyLoop('loop_0', [blockStart('block_start'), echoNode('a', {}), echoNode('b', {}), blockEnd('block_end')], [
        edge('block_start', 'a'),
        edge('a', 'b'),
        edge('b', 'a'),
        edge('b', 'block_end'),
      ]),
    ),
    message: /nodes\[1\]\.edges.*cycle/,
  },
  { name: 'nodes is not an array', schema: { nodes: 'nope', edges: [] } as unknown as Schema, message: /^nodes: must be an array/ },
  { name: 'edges is missing', schema: { nodes: [startNode('start_0', {}), endNode('end_0')] } as unknown as Schema, message: /^edges: must be an array/ },
  {
    name: 'a node without an ID',
    schema: minimal([{ type: 'echo', meta: { position: { x: 0, y: 0 } }, data: {} } as unknown as NodeSchema]),
    message: /nodes\[1\]\.id: must be a non-empty string/,
  },
  {
    name: 'a node with an empty type',
    schema: minimal([{ id: 'x', type: '', meta: { position: { x: 0, y: 0 } }, data: {} }]),
    message: /nodes\[1\]\.type: must be a non-empty string/,
  },
  {
    name: 'an edge whose source is not a string',
    schema: workflow([startNode('start_0', {}), endNode('end_0')], [{ sourceNodeID: 7, targetNodeID: 'end_0' } as unknown as Schema['edges'][number]]),
    message: /edges\[0\]\.sourceNodeID: must be a non-empty string/,
  },
  {
    name: 'inputs declarations that are not objects',
    schema: minimal([{ id: 'x', type: 'echo', meta: { position: { x: 0, y: 0 } }, data: { inputs: 'nope' } }]),
    message: /nodes\[1\]\.data\.inputs: must be an object/,
  },
];

describe('schema validation: invalid on both engines', () => {
  it('accepts a valid minimal workflow, as upstream does', async () => {
    expect(runtime.validate(minimal())).toEqual({ valid: true });
    expect(await validateUpstream(minimal())).toEqual({ valid: true });
  });

  it.each(SCHEMA_CASES.map((c) => [c.name, c] as const))('rejects %s', async (_name, testCase) => {
    const ours = runtime.validate(testCase.schema as unknown as Record<string, unknown>);
    const upstream = await validateUpstream(testCase.schema);
    expect(upstream.valid).toBe(false);
    expect(ours.valid).toBe(false);
    expect(ours.errors?.some((message) => testCase.message.test(message))).toBe(true);
    // Running it gives a failed task carrying the same errors, never an exception.
    const task = runtime.start(testCase.schema as unknown as Record<string, unknown>);
    await task.done;
    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe(ErrorCodes.SCHEMA_INVALID);
  });
});

describe('schema validation: intended behaviour where upstream 1.0.9 differs', () => {
  it('an edge to a missing node fails validation and the run cleanly (upstream crashes running it)', async () => {
    const schema = minimal([], [edge('start_0', 'end_0'), edge('start_0', 'ghost')]);
    expect((await validateUpstream(schema)).valid).toBe(false);
    const result = runtime.validate(schema as unknown as Record<string, unknown>);
    expect(result.valid).toBe(false);
    expect(result.errors).toContain('edges[1].targetNodeID: edge target node "ghost" does not exist');
    const task = runtime.start(schema as unknown as Record<string, unknown>);
    await expect(task.wait()).rejects.toMatchObject({ code: ErrorCodes.SCHEMA_INVALID });
  });

  it('an edge from a missing node inside a loop body names its path', () => {
    const loop = emptyLoop('loop_0', [blockStart('block_start'), blockEnd('block_end')], [edge('block_start', 'block_end'), edge('nobody', 'block_end')]);
    const result = runtime.validate(withLoop(loop) as unknown as Record<string, unknown>);
    expect(result.errors).toContain('nodes[1].edges[1].sourceNodeID: edge source node "nobody" does not exist');
  });

  it('reports every problem at once: shape, graph and inputs together (upstream stops at the first of each)', () => {
    const schema = workflow(
      [startNode('start_0', { n: 'integer' }, ['n']), echoNode('a', {}), echoNode('b', {}), { id: '', type: 'echo' } as NodeSchema],
      [edge('start_0', 'a'), edge('a', 'b'), edge('b', 'a'), edge('a', 'ghost')],
    );
    const result = runtime.validate(schema as unknown as Record<string, unknown>, { n: 'not a number' });
    expect(result.valid).toBe(false);
    const errors = result.errors ?? [];
    expect(errors.some((m) => m.startsWith('nodes[3].id:'))).toBe(true);
    expect(errors.some((m) => m.includes('"end"'))).toBe(true);
    expect(errors.some((m) => m.includes('"ghost" does not exist'))).toBe(true);
    expect(errors).toContain('inputs.n: must be integer');
  });

  it('meta and data are optional on nodes (upstream requires both)', async () => {
    const schema = workflow([{ id: 'start_0', type: 'start' }, { id: 'end_0', type: 'end' }], chain('start_0', 'end_0'));
    expect((await validateUpstream(schema)).valid).toBe(false);
    expect(runtime.validate(schema as unknown as Record<string, unknown>)).toEqual({ valid: true });
    await expect(runtime.run(schema as unknown as Record<string, unknown>)).resolves.toEqual({});
  });

  it('an unknown node type is a validation error naming the node and type (upstream fails it at run time)', async () => {
    const schema = minimal([{ id: 'mystery', type: 'teleport', meta: { position: { x: 0, y: 0 } }, data: {} }], chain('start_0', 'mystery', 'end_0'));
    const result = runtime.validate(schema as unknown as Record<string, unknown>);
    expect(result.errors).toEqual(['nodes[1].type: node "mystery" has unknown type "teleport" (no executor registered)']);
    const { ours, upstream } = await runBoth(runtime, schema);
    expect(ours.status).toBe('failed');
    expect(upstream.status).toBe('failed');
  });

  it('never crashes on garbage: it throws a FlowgramError or returns a failed task', async () => {
    const garbage: unknown[] = [
      null,
      42,
      'not json',
      '[]',
      [],
      { nodes: null, edges: null },
      { nodes: [null, 1, 'x'], edges: [null] },
      { nodes: [{ id: 'l', type: 'loop', blocks: 'x', edges: 5 }], edges: [] },
      { nodes: [{ id: 'l', type: 'loop', blocks: [{ id: 'l', type: 'loop', blocks: [null] }] }], edges: [{}] },
      { nodes: [{ id: 's', type: 'start', data: { outputs: { type: 'object', properties: { a: { type: 42 } } } } }], edges: [] },
      { nodes: [{ id: 'constructor', type: '__proto__' }, { id: '__proto__', type: 'start' }], edges: [{ sourceNodeID: 'toString', targetNodeID: 'constructor' }] },
    ];
    for (const schema of garbage) {
      try {
        const task = runtime.start(schema as Record<string, unknown>);
        await task.done;
        expect(task.status).toBe('failed');
      } catch (error) {
        expect(error).toBeInstanceOf(FlowgramError);
      }
    }
  });
});

interface InputsCase {
  name: string;
  declaration: Record<string, string | JsonSchema>;
  required?: string[];
  inputs: Record<string, unknown>;
  /** Our message, exactly. */
  message: string;
}

const INPUT_CASES: InputsCase[] = [
  { name: 'a missing required input', declaration: { name: 'string' }, required: ['name'], inputs: {}, message: 'inputs.name: is required' },
  { name: 'a string for an integer', declaration: { n: 'integer' }, inputs: { n: '3' }, message: 'inputs.n: must be integer' },
  { name: 'a fraction for an integer', declaration: { n: 'integer' }, inputs: { n: 1.5 }, message: 'inputs.n: must be integer' },
  { name: 'a string for a number', declaration: { n: 'number' }, inputs: { n: 'x' }, message: 'inputs.n: must be number' },
  { name: 'a number for a boolean', declaration: { b: 'boolean' }, inputs: { b: 1 }, message: 'inputs.b: must be boolean' },
  { name: 'an array for an object', declaration: { o: 'object' }, inputs: { o: [] }, message: 'inputs.o: must be object' },
  {
    name: 'a wrong nested property',
    declaration: { o: { type: 'object', properties: { deep: { type: 'integer' } } } },
    inputs: { o: { deep: 'x' } },
    message: 'inputs.o.deep: must be integer',
  },
  {
    name: 'a wrong array item',
    declaration: { list: { type: 'array', items: { type: 'string' } } },
    inputs: { list: ['a', 2] },
    message: 'inputs.list.1: must be string',
  },
  { name: 'a value outside an enum', declaration: { color: { type: 'string', enum: ['red', 'blue'] } }, inputs: { color: 'green' }, message: 'inputs.color: must be one of "red", "blue"' },
  {
    name: 'a wrong map value',
    declaration: { m: { type: 'map', additionalProperties: { type: 'integer' } } },
    inputs: { m: { a: 'x' } },
    message: 'inputs.m.a: must be integer',
  },
  { name: 'a malformed date-time', declaration: { when: 'date-time' }, inputs: { when: 'next tuesday' }, message: 'inputs.when: must be a valid date-time string' },
];

describe('inputs validation against the start node JSON Schema', () => {
  it.each(INPUT_CASES.map((c) => [c.name, c] as const))('rejects %s, as upstream does', async (_name, testCase) => {
    const schema = workflow([startNode('start_0', testCase.declaration, testCase.required), endNode('end_0')], chain('start_0', 'end_0'));
    const upstream = await validateUpstream(schema, testCase.inputs);
    expect(upstream.valid).toBe(false);
    expect(runtime.validate(schema as unknown as Record<string, unknown>, testCase.inputs)).toEqual({ valid: false, errors: [testCase.message] });
  });

  it('accepts inputs that fit, as upstream does', async () => {
    const declaration = { name: 'string', n: 'integer', x: 'number', on: 'boolean', o: 'object', list: { type: 'array', items: { type: 'integer' } } };
    const schema = workflow([startNode('start_0', declaration, ['name']), endNode('end_0', { name: input('string', ref('start_0', 'name')) })], chain('start_0', 'end_0'));
    const inputs = { name: 'a', n: 1, x: 1.5, on: true, o: { k: 1 }, list: [1, 2] };
    expect((await validateUpstream(schema, inputs)).valid).toBe(true);
    expect(runtime.validate(schema as unknown as Record<string, unknown>, inputs)).toEqual({ valid: true });
  });

  it('accepts a valid date-time input (intended; upstream 1.0.9 rejects every date-time input)', async () => {
    const schema = workflow(
      [startNode('start_0', { when: 'date-time' }, ['when']), endNode('end_0', { when: input('date-time', ref('start_0', 'when')) })],
      chain('start_0', 'end_0'),
    );
    expect((await validateUpstream(schema, { when: '2024-05-01T10:00:00Z' })).valid).toBe(false);
    await expect(runtime.run(schema as unknown as Record<string, unknown>, { when: '2024-05-01T10:00:00Z' })).resolves.toEqual({ when: '2024-05-01T10:00:00Z' });
  });

  it('a run with bad inputs fails before any node starts, with every input error listed', async () => {
    const schema = workflow([startNode('start_0', { a: 'integer', b: 'string' }, ['a', 'b']), endNode('end_0')], chain('start_0', 'end_0'));
    const task = runtime.start(schema as unknown as Record<string, unknown>, { a: 'x' });
    await task.done;
    const report = task.report();
    expect(report.workflowStatus.status).toBe('failed');
    expect(report.reports).toEqual({});
    expect(report.messages.error.map((m) => m.message)).toEqual(['inputs.b: is required', 'inputs.a: must be integer']);
  });
});

// Checks beyond upstream 1.0.9 (which accepts all of these and then drops values or misreports): each is one
// message with its path, and a run of the same schema is refused with the same messages.
describe('validation of refs, constants and declarations (intended; upstream 1.0.9 accepts these)', () => {
  const echo = (id: string, v: ReturnType<typeof ref>): NodeSchema => echoNode(id, { v: input('string', v) });
  const errorsOf = (schema: Schema, inputs?: Record<string, unknown>): string[] | undefined =>
    runtime.validate(schema as unknown as Record<string, unknown>, inputs).errors;

  it('a ref to a node that does not exist', async () => {
    const schema = minimal([echo('a', ref('ghost', 'v'))], chain('start_0', 'a', 'end_0'));
    expect((await validateUpstream(schema)).valid).toBe(true);
    expect(errorsOf(schema)).toEqual(['nodes[1].data.inputsValues.v: ref "ghost.v": node "ghost" does not exist']);
    const task = runtime.start(schema as unknown as Record<string, unknown>);
    await expect(task.wait()).rejects.toMatchObject({ code: ErrorCodes.SCHEMA_INVALID });
  });

  it('a ref to a node that does not run before the reader (downstream, another branch, itself)', () => {
    const schema = workflow(
      [startNode('start_0', { v: 'string' }), echo('a', ref('b', 'v')), echo('b', ref('start_0', 'v')), echo('c', ref('c', 'v')), endNode('end_0', { v: input('string', ref('a', 'v')) })],
      [edge('start_0', 'a'), edge('a', 'b'), edge('start_0', 'c'), edge('b', 'end_0'), edge('c', 'end_0')],
    );
    expect(errorsOf(schema)).toEqual([
      'nodes[1].data.inputsValues.v: ref "b.v": node "b" does not run before "a", so it never has a value there',
      'nodes[3].data.inputsValues.v: ref "c.v": node "c" does not run before "c", so it never has a value there',
    ]);
  });

  it('loop scoping: the body reads its locals and what runs before the loop; nothing outside reads the body', () => {
    const body = [blockStart('bs'), echoNode('inner', { v: input('string', ref('loop_0_locals', 'item')), s: input('string', ref('start_0', 'tag')) }), blockEnd('be')];
    const loop = loopNode('loop_0', { loopFor: ref('start_0', 'list'), blocks: body, edges: chain('bs', 'inner', 'be'), loopOutputs: { vs: ref('inner', 'v'), i: ref('loop_0_locals', 'index') } });
    const ok = workflow([startNode('start_0', { list: { type: 'array', items: { type: 'string' } }, tag: 'string' }), loop, endNode('end_0', { vs: input('array', ref('loop_0', 'vs')) })], chain('start_0', 'loop_0', 'end_0'));
    expect(runtime.validate(ok as unknown as Record<string, unknown>)).toEqual({ valid: true });

    const bad = structuredClone(ok);
    const badLoop = bad.nodes[1];
    (badLoop.data as Record<string, unknown>).loopFor = ref('loop_0_locals', 'item');
    ((badLoop.blocks as NodeSchema[])[1].data as { inputsValues: Record<string, unknown> }).inputsValues.s = ref('end_0', 'vs');
    (bad.nodes[2].data as { inputsValues: Record<string, unknown> }).inputsValues.vs = ref('inner', 'v');
    expect(errorsOf(bad)).toEqual([
      'nodes[1].data.loopFor: ref "loop_0_locals.item": the locals of loop "loop_0" exist only inside its body',
      'nodes[1].blocks[1].data.inputsValues.s: ref "end_0.vs": node "end_0" does not run before "inner", so it never has a value there',
      'nodes[2].data.inputsValues.vs: ref "inner.v": node "inner" does not run before "end_0", so it never has a value there',
    ]);
  });

  it('a constant of the wrong type for a declared input (123 into a string), one message', () => {
    const schema = minimal([echoNode('a', { prompt: input('string', { type: 'constant', content: 123 }) })], chain('start_0', 'a', 'end_0'));
    expect(errorsOf(schema)).toEqual(['nodes[1].data.inputsValues.prompt: constant 123 is an integer, but "prompt" is declared string']);
  });

  it('duplicate node IDs are reported as such, not as a cycle', () => {
    const schema = minimal([echoNode('a', {}), echoNode('a', {})], [edge('start_0', 'a'), edge('a', 'end_0')]);
    expect(errorsOf(schema)).toEqual(['nodes[2].id: duplicate node ID "a" (also at nodes[1])']);
  });

  it('duplicate node IDs do not hide the other problems: refs, constants and shapes are reported beside them', () => {
    const schema = minimal(
      [echo('a', ref('ghost', 'v')), echoNode('a', { n: input('integer', constant('x')) }), echo('b', ref('a', 'v')), { id: 'c', type: 'echo', data: { inputs: 'nope' } }],
      [edge('start_0', 'a'), edge('a', 'b'), edge('b', 'c'), edge('c', 'end_0')],
    );
    expect(errorsOf(schema)).toEqual([
      'nodes[4].data.inputs: must be an object if present',
      'nodes[2].id: duplicate node ID "a" (also at nodes[1])',
      'nodes[1].data.inputsValues.v: ref "ghost.v": node "ghost" does not exist',
      'nodes[2].data.inputsValues.n: constant "x" is a string, but "n" is declared integer',
    ]);
  });

  it('an edges value that is not an array does not hide the node errors, and causes no ref errors of its own', () => {
    const schema = {
      nodes: [startNode('start_0', { v: 'string' }), echo('a', ref('ghost', 'v')), echo('b', ref('a', 'v')), { id: 'c', type: 'echo', data: { inputs: 'nope' } }, endNode('end_0')],
      edges: { start_0: 'a' },
    } as unknown as Schema;
    // Whether b has an "error" edge for its onError "branch" is unknown too.
    (schema.nodes[2].data as Record<string, unknown>).onError = 'branch';
    expect(errorsOf(schema)).toEqual([
      'edges: must be an array',
      'nodes[3].data.inputs: must be an object if present',
      // Without edges nothing is known to run before anything: only what is wrong whatever the edges are.
      'nodes[1].data.inputsValues.v: ref "ghost.v": node "ghost" does not exist',
    ]);
  });

  it("a loop's edges that are not an array: its body's problems are still reported, and its own ID stays known", () => {
    const loop = loopNode('loop_0', {
      loopFor: ref('start_0', 'list'),
      blocks: [blockStart('bs'), echo('inner', ref('ghost', 'v')), { id: '', type: 'echo' }, blockEnd('be')],
      edges: 'nope' as unknown as Schema['edges'],
      loopOutputs: { vs: ref('inner', 'v') },
    });
    const schema = withLoop(loop);
    schema.nodes[2] = endNode('end_0', { vs: input('array', ref('loop_0', 'vs')) });
    expect(errorsOf(schema)).toEqual([
      'nodes[1].edges: must be an array if present',
      'nodes[1].blocks[2].id: must be a non-empty string',
      'nodes[1].blocks[1].data.inputsValues.v: ref "ghost.v": node "ghost" does not exist',
    ]);
  });

  it('a dangling edge and a ref to a missing node are both reported, with no ref errors the bad edge causes', () => {
    const schema = minimal([echo('a', ref('ghost', 'v')), echo('b', ref('a', 'v'))], [edge('start_0', 'a'), edge('typo', 'b'), edge('a', 'end_0'), edge('b', 'end_0')]);
    expect(errorsOf(schema)).toEqual([
      'edges[1].sourceNodeID: edge source node "typo" does not exist',
      'nodes[1].data.inputsValues.v: ref "ghost.v": node "ghost" does not exist',
    ]);
  });

  it('an unknown declared type is one message with its full path (not three ajv lines)', () => {
    const schema = workflow([startNode('start_0', { c: { type: 'strng' } }), endNode('end_0')], chain('start_0', 'end_0'));
    expect(errorsOf(schema, { c: 1 })).toEqual([
      'nodes[0].data.outputs.properties.c.type: unknown type "strng" (expected one of string, integer, number, boolean, object, array, map, date-time)',
    ]);
  });

  it('a value of the wrong type for an enum input is one message', () => {
    const schema = workflow([startNode('start_0', { c: { type: 'string', enum: ['a', 'b'] } }), endNode('end_0')], chain('start_0', 'end_0'));
    expect(errorsOf(schema, { c: 42 })).toEqual(['inputs.c: must be string']);
  });

  it('a ref to an output key its node does not declare is a warning; valid stays as upstream says', async () => {
    const schema = workflow(
      [startNode('start_0', { v: 'string' }), echo('a', ref('start_0', 'v')), endNode('end_0', { v: input('string', ref('a', 'nope')), g: input('string', ref('global', 'nothing')) })],
      chain('start_0', 'a', 'end_0'),
    );
    expect((await validateUpstream(schema)).valid).toBe(true);
    expect(runtime.validate(schema as unknown as Record<string, unknown>)).toEqual({
      valid: true,
      warnings: [
        'nodes[2].data.inputsValues.v: ref "a.nope": node "a" declares no output "nope" (it resolves only if the node outputs it anyway)',
        'nodes[2].data.inputsValues.g: ref "global.nothing": the workflow declares no global variable "nothing"',
      ],
    });
  });
});
