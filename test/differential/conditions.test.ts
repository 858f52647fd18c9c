/**
 * Every operator × left type of the condition rules table, on our engine and on upstream 1.0.9.
 * Each case is its own workflow: start → condition → yes | no → end. Cases where upstream is wrong
 * test the intended behaviour and say so in their names.
 */
import { describe, expect, it } from 'vitest';
import { conditionNode, constant, objectSchema, ref, startNode, type FlowValue, type JsonSchema } from '../fixtures/workflow-builders.js';
import { branchProbe, runBoth, runOurs, outcomeOf, useDifferentialRuntime } from './harness.js';

const runtime = useDifferentialRuntime();

type LeftType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'map' | 'array' | 'date-time' | 'null';

interface Case {
  type: LeftType;
  left: unknown;
  operator: string;
  right?: FlowValue;
  /** Whether the `if_match` branch is taken; 'fail' when the condition node must fail. */
  expected: boolean | 'fail';
  /** Set when upstream 1.0.9 gets this wrong: what it does instead, and why we differ. */
  upstreamBug?: { takes: boolean; why: string };
}

const DECLARATIONS: Record<Exclude<LeftType, 'date-time' | 'null'>, JsonSchema> = {
  string: { type: 'string' },
  number: { type: 'number' },
  integer: { type: 'integer' },
  boolean: { type: 'boolean' },
  object: { type: 'object', properties: {} },
  map: { type: 'map', additionalProperties: { type: 'string' } },
  array: { type: 'array', items: { type: 'string' } },
};

/** Builds the probe workflow and inputs for a case: the left value comes from start, a global, or nowhere. */
function probe(testCase: Case): { schema: ReturnType<typeof branchProbe>; inputs: Record<string, unknown> } {
  const condition = (left: FlowValue): ReturnType<typeof conditionNode> =>
    conditionNode('condition_0', [{ key: 'if_match', left, operator: testCase.operator, right: testCase.right }]);
  if (testCase.type === 'date-time') {
    // Upstream rejects date-time task inputs, so the date comes from a global variable.
    const globals = objectSchema({ when: { type: 'date-time', default: testCase.left } });
    return { schema: branchProbe(startNode('start_0', {}), condition(ref('global', 'when')), [], globals), inputs: {} };
  }
  if (testCase.type === 'null') {
    return { schema: branchProbe(startNode('start_0', {}), condition(ref('start_0', 'nothing'))), inputs: {} };
  }
  return {
    schema: branchProbe(startNode('start_0', { v: DECLARATIONS[testCase.type] }), condition(ref('start_0', 'v'))),
    inputs: testCase.left === undefined ? {} : { v: testCase.left },
  };
}

const list = (...items: unknown[]): FlowValue => constant(JSON.stringify(items));
const at = (iso: string): FlowValue => constant(iso);
const MAY_DAY = '2024-05-01T10:00:00Z';

const CASES: Case[] = [
  // string
  { type: 'string', left: 'abc', operator: 'eq', right: constant('abc'), expected: true },
  { type: 'string', left: 'abc', operator: 'eq', right: constant('abd'), expected: false },
  { type: 'string', left: 'abc', operator: 'neq', right: constant('abd'), expected: true },
  { type: 'string', left: 'abc', operator: 'contains', right: constant('bc'), expected: true },
  { type: 'string', left: 'abc', operator: 'contains', right: constant('x'), expected: false },
  { type: 'string', left: 'abc', operator: 'not_contains', right: constant('x'), expected: true },
  { type: 'string', left: 'abc', operator: 'in', right: list('x', 'abc'), expected: true },
  { type: 'string', left: 'abc', operator: 'in', right: list('x'), expected: false },
  { type: 'string', left: 'abc', operator: 'nin', right: list('x'), expected: true },
  { type: 'string', left: 'abc', operator: 'is_empty', expected: false },
  { type: 'string', left: 'abc', operator: 'eq', right: ref('start_0', 'missing'), expected: false },
  { type: 'string', left: 'abc', operator: 'gt', right: constant('a'), expected: 'fail' },
  // is_empty means null or missing for every type (upstream's newer condition-string.test.ts): '' and ' ' are values.
  { type: 'string', left: '', operator: 'is_empty', expected: false },
  { type: 'string', left: ' ', operator: 'is_empty', expected: false },
  {
    type: 'string',
    left: '',
    operator: 'is_not_empty',
    expected: true,
    upstreamBug: { takes: false, why: 'its rules want a string right side for is_not_empty, so it never matches' },
  },
  {
    type: 'string',
    left: undefined,
    operator: 'is_empty',
    expected: true,
    upstreamBug: { takes: false, why: 'its rules want a string right side for is_empty, so it never matches' },
  },
  {
    type: 'string',
    left: 'abc',
    operator: 'is_not_empty',
    expected: true,
    upstreamBug: { takes: false, why: 'its rules want a string right side for is_not_empty, so it never matches' },
  },
  // number
  { type: 'number', left: 3.5, operator: 'eq', right: constant(3.5), expected: true },
  { type: 'number', left: 3.5, operator: 'neq', right: constant(3.5), expected: false },
  { type: 'number', left: 3.5, operator: 'gt', right: constant(3), expected: true },
  { type: 'number', left: 3.5, operator: 'gte', right: constant(3.5), expected: true },
  { type: 'number', left: 3.5, operator: 'lt', right: constant(3), expected: false },
  { type: 'number', left: 3.5, operator: 'lte', right: constant(3.5), expected: true },
  { type: 'number', left: 3.5, operator: 'in', right: list(1.5, 3.5), expected: true },
  { type: 'number', left: 3.5, operator: 'nin', right: list(1.5), expected: true },
  { type: 'number', left: 3.5, operator: 'is_empty', expected: false },
  { type: 'number', left: 3.5, operator: 'is_not_empty', expected: true },
  { type: 'number', left: 3.5, operator: 'contains', right: constant(3), expected: 'fail' },
  { type: 'number', left: 0, operator: 'is_empty', expected: false },
  { type: 'number', left: 0, operator: 'is_not_empty', expected: true },
  // integer
  { type: 'integer', left: 7, operator: 'eq', right: constant(7), expected: true },
  { type: 'integer', left: 7, operator: 'neq', right: constant(8), expected: true },
  { type: 'integer', left: 7, operator: 'gt', right: constant(10), expected: false },
  { type: 'integer', left: 7, operator: 'gte', right: constant(7), expected: true },
  { type: 'integer', left: 7, operator: 'lt', right: constant(8), expected: true },
  { type: 'integer', left: 7, operator: 'lte', right: constant(6), expected: false },
  { type: 'integer', left: 7, operator: 'in', right: list(7, 8), expected: true },
  { type: 'integer', left: 7, operator: 'nin', right: list(7), expected: false },
  { type: 'integer', left: 7, operator: 'is_empty', expected: false },
  { type: 'integer', left: 7, operator: 'is_not_empty', expected: true },
  { type: 'integer', left: 7, operator: 'gt', right: constant(6.5), expected: true },
  { type: 'integer', left: 7, operator: 'eq', right: ref('start_0', 'v'), expected: true },
  // boolean
  { type: 'boolean', left: true, operator: 'eq', right: constant(true), expected: true },
  { type: 'boolean', left: true, operator: 'neq', right: constant(true), expected: false },
  { type: 'boolean', left: true, operator: 'is_true', expected: true },
  { type: 'boolean', left: false, operator: 'is_true', expected: false },
  { type: 'boolean', left: false, operator: 'is_false', expected: true },
  { type: 'boolean', left: true, operator: 'in', right: list(true), expected: true },
  { type: 'boolean', left: true, operator: 'nin', right: list(true), expected: false },
  { type: 'boolean', left: false, operator: 'is_empty', expected: false },
  { type: 'boolean', left: false, operator: 'is_not_empty', expected: true },
  { type: 'boolean', left: true, operator: 'gt', right: constant(false), expected: 'fail' },
  // object, map, array
  { type: 'object', left: { a: 1 }, operator: 'is_empty', expected: false },
  { type: 'object', left: { a: 1 }, operator: 'is_not_empty', expected: true },
  { type: 'object', left: { a: 1 }, operator: 'eq', right: constant('{"a":1}'), expected: 'fail' },
  { type: 'object', left: {}, operator: 'is_empty', expected: false },
  { type: 'object', left: {}, operator: 'is_not_empty', expected: true },
  { type: 'map', left: { k: 'v' }, operator: 'is_empty', expected: false },
  { type: 'map', left: { k: 'v' }, operator: 'is_not_empty', expected: true },
  { type: 'map', left: {}, operator: 'is_not_empty', expected: true },
  { type: 'array', left: ['a'], operator: 'is_empty', expected: false },
  { type: 'array', left: ['a'], operator: 'is_not_empty', expected: true },
  { type: 'array', left: ['a'], operator: 'contains', right: constant('a'), expected: 'fail' },
  { type: 'array', left: [], operator: 'is_empty', expected: false },
  { type: 'array', left: [], operator: 'is_not_empty', expected: true },
  // date-time
  { type: 'date-time', left: MAY_DAY, operator: 'eq', right: at('2024-05-01T10:00:00.000Z'), expected: true },
  { type: 'date-time', left: MAY_DAY, operator: 'neq', right: at(MAY_DAY), expected: false },
  { type: 'date-time', left: MAY_DAY, operator: 'gt', right: at('2024-01-01T00:00:00Z'), expected: true },
  { type: 'date-time', left: MAY_DAY, operator: 'gte', right: at('2024-06-01T00:00:00Z'), expected: false },
  { type: 'date-time', left: MAY_DAY, operator: 'lt', right: at('2024-06-01T00:00:00Z'), expected: true },
  { type: 'date-time', left: MAY_DAY, operator: 'lte', right: at(MAY_DAY), expected: true },
  { type: 'date-time', left: MAY_DAY, operator: 'is_empty', expected: false },
  { type: 'date-time', left: MAY_DAY, operator: 'is_not_empty', expected: true },
  { type: 'date-time', left: MAY_DAY, operator: 'in', right: list(MAY_DAY), expected: 'fail' },
  // null (the ref names a variable that does not exist)
  { type: 'null', left: undefined, operator: 'eq', expected: true },
  { type: 'null', left: undefined, operator: 'eq', right: constant(null), expected: true },
  { type: 'null', left: undefined, operator: 'is_empty', expected: true },
  { type: 'null', left: undefined, operator: 'is_not_empty', expected: false },
  { type: 'null', left: undefined, operator: 'gt', right: constant(1), expected: 'fail' },
];

const describeRight = (right: FlowValue | undefined): string => (right ? ` ${JSON.stringify(right.content)}` : '');
const name = (c: Case): string => `${c.type} ${JSON.stringify(c.left) ?? 'missing'} ${c.operator}${describeRight(c.right)}`;

describe('condition operators × types: same as upstream', () => {
  it.each(CASES.filter((c) => !c.upstreamBug).map((c) => [name(c), c] as const))('%s', async (_name, testCase) => {
    const { schema, inputs } = probe(testCase);
    const { ours, upstream } = await runBoth(runtime, schema, inputs);
    expect(ours).toEqual(upstream);
    if (testCase.expected === 'fail') {
      expect(ours.status).toBe('failed');
      expect(ours.nodes.condition_0.status).toBe('failed');
    } else {
      expect(ours.status).toBe('succeeded');
      expect(ours.nodes.condition_0.branches).toEqual([testCase.expected ? 'if_match' : 'else']);
      expect(ours.outputs).toEqual(testCase.expected ? { yes: 'yes' } : { no: 'no' });
    }
  });
});

describe('condition operators × types: intended behaviour where upstream 1.0.9 is wrong', () => {
  for (const testCase of CASES.filter((c) => c.upstreamBug)) {
    const bug = testCase.upstreamBug as NonNullable<Case['upstreamBug']>;
    it(`${name(testCase)} takes ${testCase.expected ? 'if_match' : 'else'} (intended; upstream 1.0.9 differs: ${bug.why})`, async () => {
      const { schema, inputs } = probe(testCase);
      const { ours, upstream } = await runBoth(runtime, schema, inputs);
      expect(ours.nodes.condition_0.branches).toEqual([testCase.expected ? 'if_match' : 'else']);
      expect(upstream.nodes.condition_0.branches).toEqual([bug.takes ? 'if_match' : 'else']);
    });
  }
});

describe('condition semantics', () => {
  it('takes the first matching branch of several, as upstream does', async () => {
    const schema = branchProbe(
      startNode('start_0', { n: 'integer' }),
      conditionNode('condition_0', [
        { key: 'if_small', left: ref('start_0', 'n'), operator: 'lt', right: constant(0) },
        { key: 'if_match', left: ref('start_0', 'n'), operator: 'gt', right: constant(1) },
        { key: 'if_also', left: ref('start_0', 'n'), operator: 'gt', right: constant(2) },
      ]),
    );
    // if_also has no edge: it must never be needed, because if_match wins first.
    const { ours, upstream } = await runBoth(runtime, schema, { n: 5 });
    expect(ours).toEqual(upstream);
    expect(ours.nodes.condition_0.branches).toEqual(['if_match']);
  });

  it('a right side of the wrong type never matches (falls through to else), as upstream does', async () => {
    const schema = branchProbe(
      startNode('start_0', { n: 'integer', s: 'string' }),
      conditionNode('condition_0', [{ key: 'if_match', left: ref('start_0', 's'), operator: 'eq', right: ref('start_0', 'n') }]),
    );
    const { ours, upstream } = await runBoth(runtime, schema, { n: 5, s: '5' });
    expect(ours).toEqual(upstream);
    expect(ours.nodes.condition_0.branches).toEqual(['else']);
  });

  it('an expression value on the right fails the node with a message naming it (intended; upstream throws an unknown-type error)', async () => {
    const schema = branchProbe(
      startNode('start_0', { n: 'integer' }),
      conditionNode('condition_0', [
        { key: 'if_match', left: ref('start_0', 'n'), operator: 'eq', right: { type: 'expression', content: 'n + 1' } },
      ]),
    );
    const report = await runOurs(runtime, schema, { n: 5 });
    expect(outcomeOf(report).nodes.condition_0.status).toBe('failed');
    expect(report.workflowStatus.status).toBe('failed');
    expect(report.reports.condition_0.snapshots[0].error).toMatch(/expression/);
  });
});

// Mirrors upstream's newer packages/runtime/js-core/src/domain/__tests__/schemas/condition-string.test.ts
// ("WorkflowRuntime string unary conditions"), which settles is_empty as null-or-missing; 1.0.9 predates it.
describe('condition-string.test.ts › routes a declared string with value …', () => {
  const values: Array<{ value: string | null | undefined; empty: boolean }> = [
    { value: 'hello', empty: false },
    { value: '', empty: false },
    { value: ' ', empty: false },
    { value: null, empty: true },
    { value: undefined, empty: true },
  ];
  it.each(values.map((v) => [JSON.stringify(v.value) ?? 'undefined', v] as const))('%s', async (_name, { value, empty }) => {
    for (const operator of ['is_empty', 'is_not_empty']) {
      const globals = objectSchema({ text: { type: 'string', default: value } });
      const schema = branchProbe(startNode('start_0', {}), conditionNode('condition_0', [{ key: 'if_match', left: ref('global', 'text'), operator }]), [], globals);
      const holds = operator === 'is_empty' ? empty : !empty;
      const ours = outcomeOf(await runOurs(runtime, schema));
      expect(ours.nodes.condition_0.branches, operator).toEqual([holds ? 'if_match' : 'else']);
    }
  });

  it('preserves the right operand for eq and neq', async () => {
    for (const operator of ['eq', 'neq']) {
      const globals = objectSchema({ text: { type: 'string', default: 'hello' } });
      const condition = conditionNode('condition_0', [{ key: 'if_match', left: ref('global', 'text'), operator, right: constant('hello') }]);
      const { ours, upstream } = await runBoth(runtime, branchProbe(startNode('start_0', {}), condition, [], globals));
      expect(ours).toEqual(upstream);
      expect(ours.nodes.condition_0.branches).toEqual([operator === 'eq' ? 'if_match' : 'else']);
    }
  });
});
