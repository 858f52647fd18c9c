/**
 * Value resolution on both engines: constants (JSON strings for object/array/map), refs with paths,
 * globals, templates, declared defaults, and type checks on inputs.
 */
import { describe, expect, it } from 'vitest';
import {
  chain,
  constant,
  echoNode,
  endNode,
  input,
  objectSchema,
  ref,
  startNode,
  template,
  workflow,
  type InputSpec,
} from '../fixtures/workflow-builders.js';
import { outcomeOf, runBoth, runOurs, useDifferentialRuntime } from './harness.js';

const runtime = useDifferentialRuntime();

/** start → end, where the end's inputs are the values under test. */
const direct = (
  endInputs: Record<string, InputSpec>,
  startOutputs: Parameters<typeof startNode>[1] = {},
  globals?: ReturnType<typeof objectSchema>,
): ReturnType<typeof workflow> => workflow([startNode('start_0', startOutputs), endNode('end_0', endInputs)], chain('start_0', 'end_0'), globals);

describe('values: same as upstream', () => {
  it('constants of every type; object/array/map constants arrive as JSON text', async () => {
    const schema = direct({
      s: input('string', constant('text')),
      i: input('integer', constant(42)),
      n: input('number', constant(2.5)),
      b: input('boolean', constant(false)),
      o: input('object', constant('{"a":{"b":[1,2]}}')),
      a: input({ type: 'array', items: { type: 'integer' } }, constant('[1,2,3]')),
      m: input({ type: 'map', additionalProperties: { type: 'string' } }, constant('{"k":"v"}')),
      raw: input('object', constant({ already: 'parsed' })),
    });
    const { ours, upstream } = await runBoth(runtime, schema);
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ s: 'text', i: 42, n: 2.5, b: false, o: { a: { b: [1, 2] } }, a: [1, 2, 3], m: { k: 'v' }, raw: { already: 'parsed' } });
  });

  it('refs with paths into objects and arrays', async () => {
    const schema = direct(
      {
        deep: input('string', ref('start_0', 'obj', 'a', 'b')),
        element: input('integer', ref('start_0', 'list', '1')),
        whole: input('object', ref('start_0', 'obj')),
        missing: input('string', ref('start_0', 'obj', 'nope', 'deeper')),
      },
      { obj: { type: 'object', properties: { a: { type: 'object' } } }, list: { type: 'array', items: { type: 'integer' } } },
    );
    const { ours, upstream } = await runBoth(runtime, schema, { obj: { a: { b: 'deep' } }, list: [10, 20] });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ deep: 'deep', element: 20, whole: { a: { b: 'deep' } } });
  });

  it('global variables with their defaults', async () => {
    const globals = objectSchema({
      greeting: { type: 'string', default: 'hello' },
      limit: { type: 'integer', default: 3 },
      settings: { type: 'object', default: '{"mode":"fast"}' },
      tags: { type: 'array', items: { type: 'string' }, default: '["a","b"]' },
      unset: { type: 'string' },
    });
    const schema = direct(
      {
        greeting: input('string', ref('global', 'greeting')),
        limit: input('integer', ref('global', 'limit')),
        mode: input('string', ref('global', 'settings', 'mode')),
        tags: input({ type: 'array', items: { type: 'string' } }, ref('global', 'tags')),
        unset: input('string', ref('global', 'unset')),
      },
      {},
      globals,
    );
    const { ours, upstream } = await runBoth(runtime, schema);
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ greeting: 'hello', limit: 3, mode: 'fast', tags: ['a', 'b'] });
  });

  it('templates fill {{node.key.path}} and render missing values as empty', async () => {
    const schema = direct(
      {
        text: input('string', template('Hi {{start_0.name}}, you are {{ start_0.age }} ({{start_0.profile.city}}){{start_0.nothing}}||')),
        plain: input('string', template('no placeholders')),
      },
      { name: 'string', age: 'integer', profile: 'object' },
    );
    const { ours, upstream } = await runBoth(runtime, schema, { name: 'Ada', age: 36, profile: { city: 'London' } });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ text: 'Hi Ada, you are 36 (London)||', plain: 'no placeholders' });
  });

  it('declared output defaults fill what a node does not output', async () => {
    const schema = workflow(
      [
        startNode('start_0', { given: 'string', fallback: { type: 'string', default: 'from start default' } }),
        echoNode('echo_0', { given: input('string', ref('start_0', 'given')) }, {
          given: 'string',
          extra: { type: 'integer', default: 7 },
          config: { type: 'object', default: '{"on":true}' },
        }),
        endNode('end_0', {
          given: input('string', ref('echo_0', 'given')),
          extra: input('integer', ref('echo_0', 'extra')),
          on: input('boolean', ref('echo_0', 'config', 'on')),
          fallback: input('string', ref('start_0', 'fallback')),
        }),
      ],
      chain('start_0', 'echo_0', 'end_0'),
    );
    const { ours, upstream } = await runBoth(runtime, schema, { given: 'g' });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ given: 'g', extra: 7, on: true, fallback: 'from start default' });
  });

  it('drops inputs whose value does not fit the declared type; integer and number mix', async () => {
    const schema = direct(
      {
        wrong: input('string', ref('start_0', 'count')),
        intAsNumber: input('number', ref('start_0', 'count')),
        numberAsInt: input('integer', ref('start_0', 'ratio')),
      },
      { count: 'integer', ratio: 'number' },
    );
    const { ours, upstream } = await runBoth(runtime, schema, { count: 3, ratio: 0.5 });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ intAsNumber: 3, numberAsInt: 0.5 });
  });

  it('ignores inputsValues without a declaration, and declarations without a value', async () => {
    const schema = workflow(
      [
        startNode('start_0', {}),
        {
          id: 'end_0',
          type: 'end',
          meta: { position: { x: 0, y: 0 } },
          data: {
            inputs: objectSchema({ declared: 'string', valueless: 'string' }),
            inputsValues: { declared: constant('kept'), undeclared: constant('dropped') },
          },
        },
      ],
      chain('start_0', 'end_0'),
    );
    const { ours, upstream } = await runBoth(runtime, schema);
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ declared: 'kept' });
  });

  it('start outputs the task inputs, end inputs become the task outputs (schema given as JSON text too)', async () => {
    const schema = direct({ echo: input('string', ref('start_0', 'q')) }, { q: 'string' });
    const { ours, upstream } = await runBoth(runtime, schema, { q: 'question' });
    expect(ours).toEqual(upstream);
    expect(ours.nodes.start_0).toEqual({ status: 'succeeded', runs: 1, branches: [] });
    const task = runtime.start(JSON.stringify(schema), JSON.stringify({ q: 'question' }));
    await expect(task.wait()).resolves.toEqual({ echo: 'question' });
  });
});

describe('values: intended behaviour where upstream 1.0.9 differs', () => {
  it('renders objects and arrays in templates as JSON (upstream writes "[object Object]")', async () => {
    const schema = direct({ text: input('string', template('{{start_0.o}} {{start_0.a}}')) }, { o: 'object', a: { type: 'array', items: { type: 'integer' } } });
    const { ours, upstream } = await runBoth(runtime, schema, { o: { k: 1 }, a: [1, 2] });
    expect(ours.outputs).toEqual({ text: '{"k":1} [1,2]' });
    expect(upstream.outputs).toEqual({ text: '[object Object] 1,2' });
  });

  it('stores undeclared outputs with inferred types so refs to them resolve (upstream drops them)', async () => {
    const schema = workflow(
      [
        startNode('start_0', { declared: 'string' }),
        echoNode('echo_0', { v: input('string', ref('start_0', 'declared')), n: input('integer', constant(5)) }, {}),
        endNode('end_0', { v: input('string', ref('echo_0', 'v')), n: input('integer', ref('echo_0', 'n')), extra: input('string', ref('start_0', 'extra')) }),
      ],
      chain('start_0', 'echo_0', 'end_0'),
    );
    const { ours, upstream } = await runBoth(runtime, schema, { declared: 'd', extra: 'e' });
    expect(ours.outputs).toEqual({ v: 'd', n: 5, extra: 'e' });
    expect(upstream.outputs).toEqual({});
  });

  it('date-time values fit string slots and strings fit date-time slots; map and object mix (upstream drops them)', async () => {
    const globals = objectSchema({ when: { type: 'date-time', default: '2024-05-01T10:00:00Z' } });
    const schema = direct(
      {
        asString: input('string', ref('global', 'when')),
        asDate: input('date-time', ref('start_0', 'day')),
        mapAsObject: input('object', ref('start_0', 'm')),
        objectAsMap: input('map', ref('start_0', 'o')),
      },
      { day: 'string', m: { type: 'map', additionalProperties: { type: 'string' } }, o: 'object' },
      globals,
    );
    const outcome = outcomeOf(await runOurs(runtime, schema, { day: '2024-01-02', m: { k: 'v' }, o: { a: 1 } }));
    expect(outcome.outputs).toEqual({ asString: '2024-05-01T10:00:00Z', asDate: '2024-01-02', mapAsObject: { k: 'v' }, objectAsMap: { a: 1 } });
  });

  it('a ref or template placeholder naming a node that does not exist fails validation and the run (upstream drops the value)', async () => {
    const schema = direct({ unknownNode: input('string', ref('nobody', 'v')), text: input('string', template('x{{ghost.y}}')) });
    const { ours, upstream } = await runBoth(runtime, schema);
    expect(upstream.status).toBe('succeeded');
    expect(ours.status).toBe('failed');
    expect(runtime.validate(schema as unknown as Record<string, unknown>).errors).toEqual([
      'nodes[1].data.inputsValues.unknownNode: ref "nobody.v": node "nobody" does not exist',
      'nodes[1].data.inputsValues.text: ref "ghost.y": node "ghost" does not exist',
    ]);
  });

  it('a constant that does not fit its declared type fails validation (upstream passes "yes" on as a boolean)', async () => {
    const schema = direct({ alsoWrong: input('boolean', constant('yes')) });
    const { ours, upstream } = await runBoth(runtime, schema);
    expect(upstream.outputs).toEqual({ alsoWrong: 'yes' });
    expect(ours.status).toBe('failed');
    expect(runtime.validate(schema as unknown as Record<string, unknown>).errors).toEqual([
      'nodes[1].data.inputsValues.alsoWrong: constant "yes" is a string, but "alsoWrong" is declared boolean',
    ]);
  });

  it('an expression value fails the node with a clear error naming it (upstream: "Unknown flow value type")', async () => {
    const schema = direct({ x: input('string', { type: 'expression', content: '1 + 1' }) });
    const report = await runOurs(runtime, schema);
    expect(report.workflowStatus.status).toBe('failed');
    expect(report.reports.end_0.status).toBe('failed');
    expect(report.reports.end_0.snapshots[0].error).toMatch(/end_0.*"x".*expression/);
  });
});
