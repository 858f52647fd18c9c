/**
 * Scheduling on both engines: chains, parallel branches, AND-joins, conditions that skip whole
 * sub-graphs, and joins after them. Where we deliberately differ, the test name says so.
 */
import { describe, expect, it } from 'vitest';
import {
  chain,
  conditionNode,
  constant,
  delayNode,
  echoNode,
  edge,
  endNode,
  input,
  ref,
  startNode,
  template,
  workflow,
} from '../fixtures/workflow-builders.js';
import { outcomeOf, runBoth, runOurs, useDifferentialRuntime } from './harness.js';

const runtime = useDifferentialRuntime();

const passOn = (id: string, from: string): ReturnType<typeof echoNode> => echoNode(id, { v: input('string', ref(from, 'v')) });

describe('scheduling: same as upstream', () => {
  it('runs a chain in order, passing a value along refs', async () => {
    const schema = workflow(
      [startNode('start_0', { v: 'string' }), passOn('a', 'start_0'), passOn('b', 'a'), passOn('c', 'b'), endNode('end_0', { v: input('string', ref('c', 'v')) })],
      chain('start_0', 'a', 'b', 'c', 'end_0'),
    );
    const { ours, upstream } = await runBoth(runtime, schema, { v: 'hi' });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ v: 'hi' });
  });

  it('fans out to parallel branches and joins them (AND-join) before the end', async () => {
    const schema = workflow(
      [
        startNode('start_0', { v: 'string' }),
        passOn('a', 'start_0'),
        passOn('b', 'start_0'),
        passOn('c', 'start_0'),
        endNode('end_0', { a: input('string', ref('a', 'v')), b: input('string', ref('b', 'v')), c: input('string', ref('c', 'v')) }),
      ],
      [edge('start_0', 'a'), edge('start_0', 'b'), edge('start_0', 'c'), edge('a', 'end_0'), edge('b', 'end_0'), edge('c', 'end_0')],
    );
    const { ours, upstream } = await runBoth(runtime, schema, { v: 'x' });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ a: 'x', b: 'x', c: 'x' });
    expect(ours.nodes.end_0.runs).toBe(1);
  });

  it('waits for the slowest sibling at a join; siblings run concurrently', async () => {
    const schema = workflow(
      [
        startNode('start_0', { v: 'string' }),
        delayNode('slow', 40, { v: input('string', ref('start_0', 'v')) }),
        delayNode('fast', 1, { v: input('string', template('{{start_0.v}}!')) }),
        delayNode('also_slow', 40, {}),
        endNode('end_0', { slow: input('string', ref('slow', 'v')), fast: input('string', ref('fast', 'v')) }),
      ],
      [edge('start_0', 'slow'), edge('start_0', 'fast'), edge('start_0', 'also_slow'), edge('slow', 'end_0'), edge('fast', 'end_0'), edge('also_slow', 'end_0')],
    );
    const began = Date.now();
    const { ours, upstream, oursReport } = await runBoth(runtime, schema, { v: 'x' });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ slow: 'x', fast: 'x!' });
    // Two 40 ms nodes side by side: concurrent, not one after the other.
    expect(oursReport.workflowStatus.timeCost).toBeLessThan(75);
    expect(oursReport.reports.end_0.startTime).toBeGreaterThanOrEqual(oursReport.reports.slow.endTime as number);
    expect(Date.now() - began).toBeGreaterThanOrEqual(40);
  });

  it('a condition skips the nodes only its untaken branch reaches, and the join after it still fires', async () => {
    const schema = workflow(
      [
        startNode('start_0', { n: 'integer' }),
        conditionNode('condition_0', [{ key: 'if_big', left: ref('start_0', 'n'), operator: 'gt', right: constant(10) }]),
        echoNode('big_1', { size: input('string', constant('big')) }),
        echoNode('big_2', { size: input('string', ref('big_1', 'size')) }),
        echoNode('small_1', { size: input('string', constant('small')) }),
        echoNode('join', { big: input('string', ref('big_2', 'size')), small: input('string', ref('small_1', 'size')) }),
        endNode('end_0', { big: input('string', ref('join', 'big')), small: input('string', ref('join', 'small')) }),
      ],
      [
        edge('start_0', 'condition_0'),
        edge('condition_0', 'big_1', 'if_big'),
        edge('big_1', 'big_2'),
        edge('condition_0', 'small_1', 'else'),
        edge('big_2', 'join'),
        edge('small_1', 'join'),
        edge('join', 'end_0'),
      ],
    );
    for (const n of [50, 5]) {
      const { ours, upstream } = await runBoth(runtime, schema, { n });
      expect(ours).toEqual(upstream);
      expect(ours.outputs).toEqual(n > 10 ? { big: 'big' } : { small: 'small' });
      expect(Object.keys(ours.nodes).sort()).toEqual(
        (n > 10 ? ['big_1', 'big_2', 'condition_0', 'end_0', 'join', 'start_0'] : ['condition_0', 'end_0', 'join', 'small_1', 'start_0']).sort(),
      );
    }
  });

  it('nested conditions pick one leaf and skip the rest', async () => {
    const leaf = (id: string): ReturnType<typeof echoNode> => echoNode(id, { leaf: input('string', constant(id)) });
    const schema = workflow(
      [
        startNode('start_0', { n: 'integer' }),
        conditionNode('outer', [{ key: 'if_pos', left: ref('start_0', 'n'), operator: 'gt', right: constant(0) }]),
        conditionNode('inner', [{ key: 'if_big', left: ref('start_0', 'n'), operator: 'gte', right: constant(100) }]),
        leaf('big'),
        leaf('small'),
        leaf('negative'),
        endNode('end_0', {
          big: input('string', ref('big', 'leaf')),
          small: input('string', ref('small', 'leaf')),
          negative: input('string', ref('negative', 'leaf')),
        }),
      ],
      [
        edge('start_0', 'outer'),
        edge('outer', 'inner', 'if_pos'),
        edge('outer', 'negative', 'else'),
        edge('inner', 'big', 'if_big'),
        edge('inner', 'small', 'else'),
        edge('big', 'end_0'),
        edge('small', 'end_0'),
        edge('negative', 'end_0'),
      ],
    );
    for (const [n, expected] of [
      [500, { big: 'big' }],
      [5, { small: 'small' }],
      [-5, { negative: 'negative' }],
    ] as const) {
      const { ours, upstream } = await runBoth(runtime, schema, { n });
      expect(ours).toEqual(upstream);
      expect(ours.outputs).toEqual(expected);
    }
  });

  it('a condition in one parallel branch does not hold up the other branch', async () => {
    const schema = workflow(
      [
        startNode('start_0', { n: 'integer' }),
        conditionNode('condition_0', [{ key: 'if_pos', left: ref('start_0', 'n'), operator: 'gt', right: constant(0) }]),
        echoNode('pos', { sign: input('string', constant('+')) }),
        echoNode('neg', { sign: input('string', constant('-')) }),
        echoNode('side', { n: input('integer', ref('start_0', 'n')) }),
        endNode('end_0', { pos: input('string', ref('pos', 'sign')), neg: input('string', ref('neg', 'sign')), n: input('integer', ref('side', 'n')) }),
      ],
      [
        edge('start_0', 'condition_0'),
        edge('start_0', 'side'),
        edge('condition_0', 'pos', 'if_pos'),
        edge('condition_0', 'neg', 'else'),
        edge('pos', 'end_0'),
        edge('neg', 'end_0'),
        edge('side', 'end_0'),
      ],
    );
    const { ours, upstream } = await runBoth(runtime, schema, { n: -3 });
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ neg: '-', n: -3 });
  });

  it('a condition without conditions continues on every port, as upstream does', async () => {
    const schema = workflow(
      [
        startNode('start_0', {}),
        { id: 'condition_0', type: 'condition', meta: { position: { x: 0, y: 0 } }, data: {} },
        echoNode('a', { v: input('string', constant('a')) }),
        endNode('end_0', { v: input('string', ref('a', 'v')) }),
      ],
      [edge('start_0', 'condition_0'), edge('condition_0', 'a', 'if_x'), edge('a', 'end_0')],
    );
    const { ours, upstream } = await runBoth(runtime, schema);
    expect(ours).toEqual(upstream);
    expect(ours.outputs).toEqual({ v: 'a' });
  });
});

describe('scheduling: intended behaviour where upstream 1.0.9 differs', () => {
  it('runs a join fed by a live parallel branch and an untaken condition branch (dead-path elimination; upstream is timing-dependent)', async () => {
    // start → fast → join, start → condition -else→ join; with `if` taken, `join` still has a live input.
    const schema = workflow(
      [
        startNode('start_0', { n: 'integer' }),
        echoNode('fast', { n: input('integer', ref('start_0', 'n')) }),
        conditionNode('condition_0', [{ key: 'if_pos', left: ref('start_0', 'n'), operator: 'gt', right: constant(0) }]),
        echoNode('pos', { sign: input('string', constant('+')) }),
        echoNode('join', { n: input('integer', ref('fast', 'n')) }),
        endNode('end_0', { sign: input('string', ref('pos', 'sign')), n: input('integer', ref('join', 'n')) }),
      ],
      [
        edge('start_0', 'fast'),
        edge('start_0', 'condition_0'),
        edge('fast', 'join'),
        edge('condition_0', 'join', 'else'),
        edge('condition_0', 'pos', 'if_pos'),
        edge('pos', 'end_0'),
        edge('join', 'end_0'),
      ],
    );
    const outcome = outcomeOf(await runOurs(runtime, schema, { n: 4 }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.outputs).toEqual({ sign: '+', n: 4 });
    expect(outcome.nodes.join.status).toBe('succeeded');
  });

  it('runs a node reached by two edges from the same condition once (upstream runs it once per edge)', async () => {
    const schema = workflow(
      [
        startNode('start_0', { n: 'integer' }),
        conditionNode('condition_0', [{ key: 'if_pos', left: ref('start_0', 'n'), operator: 'gt', right: constant(0) }]),
        endNode('end_0', { n: input('integer', ref('start_0', 'n')) }),
      ],
      [edge('start_0', 'condition_0'), edge('condition_0', 'end_0', 'if_pos'), edge('condition_0', 'end_0', 'else')],
    );
    const { ours, upstream } = await runBoth(runtime, schema, { n: 1 });
    expect(ours.nodes.end_0.runs).toBe(1);
    expect(upstream.nodes.end_0.runs).toBe(2);
    expect(ours.outputs).toEqual(upstream.outputs);
  });

  it('ignores orphan nodes that start cannot reach, so the end still runs (upstream waits for them forever)', async () => {
    const schema = workflow(
      [startNode('start_0', { v: 'string' }), passOn('orphan', 'start_0'), endNode('end_0', { v: input('string', ref('start_0', 'v')) })],
      [edge('start_0', 'end_0'), edge('orphan', 'end_0')],
    );
    const outcome = outcomeOf(await runOurs(runtime, schema, { v: 'x' }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.outputs).toEqual({ v: 'x' });
    expect(outcome.nodes.orphan).toBeUndefined();
  });

  it('fails a non-terminating node with no next nodes, naming it', async () => {
    const schema = workflow(
      [startNode('start_0', {}), echoNode('dead_end', {}), endNode('end_0')],
      [edge('start_0', 'dead_end'), edge('start_0', 'end_0')],
    );
    const report = await runOurs(runtime, schema);
    expect(report.workflowStatus.status).toBe('failed');
    expect(report.reports.dead_end.status).toBe('failed');
    expect(report.reports.dead_end.snapshots[0].error).toMatch(/dead_end.*no next nodes/);
  });
});
