/**
 * Code nodes on both engines. Upstream 1.0.9 only runs an `async function main` that never awaits: a
 * sync main dies with "Lifetime not alive" and an await inside main hangs it, so those cases test the
 * intended behaviour (the hanging one runs on our engine only).
 */
import { describe, expect, it } from 'vitest';
import { chain, endNode, input, objectSchema, ref, startNode, workflow, type InputSpec, type JsonSchema } from '../fixtures/workflow-builders.js';
import { runBoth, runOurs, outcomeOf, useDifferentialRuntime } from './harness.js';

const runtime = useDifferentialRuntime();

/** start → code → end, the end taking `results` from the code node's outputs. */
function codeWorkflow(script: string, inputs: Record<string, InputSpec>, results: Record<string, string | JsonSchema>): ReturnType<typeof workflow> {
  const schemas: Record<string, string | JsonSchema> = {};
  const values: Record<string, InputSpec['value']> = {};
  for (const [key, spec] of Object.entries(inputs)) {
    schemas[key] = spec.schema;
    values[key] = spec.value;
  }
  const code = {
    id: 'code_0',
    type: 'code',
    meta: { position: { x: 0, y: 0 } },
    data: { title: 'Code', inputs: objectSchema(schemas), inputsValues: values, outputs: objectSchema(results), script: { language: 'javascript', content: script } },
  };
  const endInputs = Object.fromEntries(Object.entries(results).map(([key, schema]) => [key, input(schema, ref('code_0', key))]));
  return workflow([startNode('start_0', { a: 'integer', s: 'string' }), code, endNode('end_0', endInputs)], chain('start_0', 'code_0', 'end_0'));
}

const params = { a: input('integer', ref('start_0', 'a')), s: input('string', ref('start_0', 's')) };

describe('code node: same as upstream', () => {
  it('an async main that returns an object gives its outputs', async () => {
    const schema = codeWorkflow(
      'async function main({ params }) { return { sum: params.a + 1, loud: params.s.toUpperCase(), list: [params.a, params.a * 2] }; }',
      params,
      { sum: 'integer', loud: 'string', list: { type: 'array', items: { type: 'integer' } } },
    );
    const { ours, upstream } = await runBoth(runtime, schema, { a: 20, s: 'hi' });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ sum: 21, loud: 'HI', list: [20, 40] });
  });

  it('a main that returns something other than an object gives { result }', async () => {
    const schema = codeWorkflow('async function main({ params }) { return params.a * 3; }', params, { result: 'integer' });
    const { ours, upstream } = await runBoth(runtime, schema, { a: 5, s: '' });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ result: 15 });
  });

  it('a script that throws fails the node and the workflow', async () => {
    const schema = codeWorkflow('async function main() { throw new Error("nope"); }', params, { x: 'string' });
    const { ours, upstream, oursReport } = await runBoth(runtime, schema, { a: 1, s: '' });
    expect(ours).toEqual(upstream);
    expect(ours.nodes.code_0.status).toBe('failed');
    expect(oursReport.reports.code_0.snapshots[0].error).toMatch(/nope/);
  });
});

describe('code node: intended behaviour where upstream 1.0.9 is wrong', () => {
  it('a sync main works (upstream 1.0.9 dies with "Lifetime not alive")', async () => {
    const schema = codeWorkflow('function main({ params }) { return { sum: params.a + 1 }; }', params, { sum: 'integer' });
    const { ours, upstream } = await runBoth(runtime, schema, { a: 1, s: '' });
    expect(upstream.status).toBe('failed');
    expect(ours.status).toBe('succeeded');
    expect(ours.outputs).toEqual({ sum: 2 });
  });

  it('await inside main works (upstream 1.0.9 hangs forever, so it is not run there)', async () => {
    const schema = codeWorkflow(
      'async function main({ params }) { const value = await Promise.resolve(params.a); await null; return { sum: value + 1 }; }',
      params,
      { sum: 'integer' },
    );
    const outcome = outcomeOf(await runOurs(runtime, schema, { a: 41, s: '' }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.outputs).toEqual({ sum: 42 });
  });
});

// Mirrors upstream's newer js-core/src/domain/__tests__/schemas/code.test.ts ("CodeExecutor result ownership"),
// which settles sync main and non-object results; 1.0.9 cannot run a sync main at all.
describe('code.test.ts › CodeExecutor result ownership', () => {
  const results: Array<[string, string, Record<string, unknown>]> = [
    ['object', '{ value: params.s }', { value: 'hello' }],
    ['string', 'params.s', { result: 'hello' }],
    ['number', '42', { result: 42 }],
    ['boolean', 'false', { result: false }],
    ['null', 'null', { result: null }],
    ['undefined', 'undefined', {}],
    ['array', '[params.s, 42]', { result: ['hello', 42] }],
  ];
  it.each(results)('should return a synchronous %s result', async (_name, expression, outputs) => {
    const report = await runOurs(runtime, codeWorkflow(`function main({ params }) { return ${expression}; }`, params, {}), { a: 1, s: 'hello' });
    expect(report.workflowStatus.status).toBe('succeeded');
    // `{ result: undefined }` upstream is `{}` once serialized, which is all a report can carry.
    expect(report.reports.code_0.snapshots[0].outputs).toEqual(outputs);
  });

  it('should preserve rejected async errors', async () => {
    const report = await runOurs(runtime, codeWorkflow('async function main() { throw new Error("async failure"); }', params, {}), { a: 1, s: '' });
    expect(report.reports.code_0.snapshots[0].error).toContain('async failure');
  });
});
