/**
 * Failures and the report on both engines: a failing node fails the workflow and nothing starts after
 * it; the report has upstream's shape, parses with upstream's zod schema, and holds copies.
 */
import { TaskReportDefine, type IReport } from '@flowgram.ai/runtime-interface';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/index.js';
import {
  blockEnd,
  blockStart,
  chain,
  conditionNode,
  constant,
  delayNode,
  echoNode,
  edge,
  endNode,
  failNode,
  input,
  loopNode,
  ref,
  startNode,
  workflow,
} from '../fixtures/workflow-builders.js';
import { outcomeOf, runBoth, runOurs, useDifferentialRuntime } from './harness.js';

const runtime = useDifferentialRuntime();

const failing = workflow(
  [
    startNode('start_0', { v: 'string' }),
    echoNode('before', { v: input('string', ref('start_0', 'v')) }),
    failNode('boom', 'it broke'),
    echoNode('after', { v: input('string', ref('before', 'v')) }),
    endNode('end_0', { v: input('string', ref('after', 'v')) }),
  ],
  chain('start_0', 'before', 'boom', 'after', 'end_0'),
);

describe('failures: same as upstream', () => {
  it('a throwing node is failed with its message; the workflow fails and nothing after it starts', async () => {
    const { ours, upstream, oursReport, upstreamReport } = await runBoth(runtime, failing, { v: 'x' });
    expect(ours).toEqual(upstream);
    expect(ours.status).toBe('failed');
    expect(Object.keys(ours.nodes).sort()).toEqual(['before', 'boom', 'start_0']);
    expect(oursReport.reports.boom.snapshots[0].error).toBe('it broke');
    expect(upstreamReport.reports.boom.snapshots[0].error).toBe('it broke');
    expect(oursReport.messages.error.map((m) => [m.nodeID, m.message])).toEqual([['boom', 'it broke']]);
    expect(oursReport.outputs).toEqual({});
  });

  it('a failure on the taken branch of a condition fails the workflow', async () => {
    const schema = workflow(
      [
        startNode('start_0', { n: 'integer' }),
        conditionNode('condition_0', [{ key: 'if_pos', left: ref('start_0', 'n'), operator: 'gt', right: constant(0) }]),
        failNode('boom', 'positive numbers are not allowed'),
        echoNode('fine', {}),
        endNode('end_0'),
      ],
      [edge('start_0', 'condition_0'), edge('condition_0', 'boom', 'if_pos'), edge('condition_0', 'fine', 'else'), edge('boom', 'end_0'), edge('fine', 'end_0')],
    );
    for (const n of [1, -1]) {
      const { ours, upstream } = await runBoth(runtime, schema, { n });
      expect(ours).toEqual(upstream);
      expect(ours.status).toBe(n > 0 ? 'failed' : 'succeeded');
    }
  });
});

describe('failures: intended behaviour where upstream 1.0.9 differs', () => {
  it('aborts in-flight siblings and marks them canceled (upstream lets them run on)', async () => {
    const schema = workflow(
      [startNode('start_0', {}), failNode('boom', 'early failure'), delayNode('slow', 2_000), endNode('end_0')],
      [edge('start_0', 'slow'), edge('start_0', 'boom'), edge('slow', 'end_0'), edge('boom', 'end_0')],
    );
    const began = Date.now();
    const task = runtime.start(schema as unknown as Record<string, unknown>);
    await expect(task.wait()).rejects.toMatchObject({ code: ErrorCodes.NODE_FAILED, nodeID: 'boom' });
    expect(Date.now() - began).toBeLessThan(1_000);
    const report = task.report();
    expect(report.reports.slow.status).toBe('canceled');
    expect(report.reports.boom.status).toBe('failed');
    expect(report.reports.end_0).toBeUndefined();
  });

  it('a failure inside a loop names the inner node on the loop node (upstream: "Loop block execute error")', async () => {
    const schema = workflow(
      [
        startNode('start_0', { list: { type: 'array', items: { type: 'integer' } } }),
        loopNode('loop_0', {
          loopFor: ref('start_0', 'list'),
          blocks: [blockStart('block_start'), failNode('boom', 'bad item'), blockEnd('block_end')],
          edges: chain('block_start', 'boom', 'block_end'),
        }),
        endNode('end_0'),
      ],
      chain('start_0', 'loop_0', 'end_0'),
    );
    const report = await runOurs(runtime, schema, { list: [1] });
    expect(report.reports.loop_0.snapshots[0].error).toBe('block node "boom" failed: bad item');
  });
});

/** Keys of an object and, recursively, of its first-level children: the report's shape, not its values. */
function shapeOf(original: IReport): Record<string, string[]> {
  const report = JSON.parse(JSON.stringify(original)) as IReport; // the wire shape: undefined keys vanish
  const nodeID = Object.keys(report.reports)[0];
  const node = report.reports[nodeID];
  return {
    report: Object.keys(report).sort(),
    workflowStatus: Object.keys(report.workflowStatus).sort(),
    node: Object.keys(node).sort(),
    snapshot: Object.keys(node.snapshots[0]).sort(),
    messages: Object.keys(report.messages).sort(),
  };
}

describe('report', () => {
  it('has the same shape as upstream and parses with TaskReportDefine.schema.output', async () => {
    const schema = workflow(
      [
        startNode('start_0', { v: 'string' }),
        conditionNode('condition_0', [{ key: 'if_v', left: ref('start_0', 'v'), operator: 'eq', right: constant('x') }]),
        endNode('end_0', { v: input('string', ref('start_0', 'v')) }),
      ],
      [edge('start_0', 'condition_0'), edge('condition_0', 'end_0', 'if_v')],
    );
    const { oursReport, upstreamReport } = await runBoth(runtime, schema, { v: 'x' });
    expect(shapeOf(oursReport)).toEqual(shapeOf(upstreamReport));
    expect(() => TaskReportDefine.schema.output.parse(oursReport)).not.toThrow();
    expect(oursReport.workflowStatus).toMatchObject({ status: 'succeeded', terminated: true });
    expect(oursReport.workflowStatus.timeCost).toBe((oursReport.workflowStatus.endTime as number) - oursReport.workflowStatus.startTime);
    expect(oursReport.reports.condition_0.snapshots[0]).toMatchObject({ nodeID: 'condition_0', branch: 'if_v', inputs: {}, outputs: {} });
    expect(oursReport.reports.end_0.snapshots[0]).toMatchObject({ inputs: { v: 'x' }, outputs: { v: 'x' }, data: {} });
  });

  it('parses with the zod schema for failed, looping and invalid workflows too', async () => {
    const loop = workflow(
      [
        startNode('start_0', { list: { type: 'array', items: { type: 'integer' } } }),
        loopNode('loop_0', { loopFor: ref('start_0', 'list'), blocks: [blockStart('bs'), blockEnd('be')], edges: chain('bs', 'be'), loopOutputs: { items: ref('loop_0_locals', 'item') } }),
        endNode('end_0', { items: input({ type: 'array', items: { type: 'integer' } }, ref('loop_0', 'items')) }),
      ],
      chain('start_0', 'loop_0', 'end_0'),
    );
    const reports = [
      await runOurs(runtime, failing, { v: 'x' }),
      await runOurs(runtime, loop, { list: [1, 2, 3] }),
      await runOurs(runtime, workflow([startNode('start_0', {})], [])),
    ];
    for (const report of reports) expect(() => TaskReportDefine.schema.output.parse(report)).not.toThrow();
    expect(reports[1].reports.bs.snapshots).toHaveLength(3);
    expect(reports[1].outputs).toEqual({ items: [1, 2, 3] });
    expect(reports[2].workflowStatus.status).toBe('failed');
    expect(reports[2].messages.error.length).toBeGreaterThan(0);
  });

  it('snapshots hold copies: changing inputs, outputs or a report afterwards changes no other report', async () => {
    const schema = workflow(
      [
        startNode('start_0', { o: 'object' }),
        echoNode('echo_0', { o: input('object', ref('start_0', 'o')) }),
        endNode('end_0', { o: input('object', ref('echo_0', 'o')) }),
      ],
      chain('start_0', 'echo_0', 'end_0'),
    );
    const inputs = { o: { list: [1] } };
    const task = runtime.start(schema as unknown as Record<string, unknown>, inputs);
    const outputs = await task.wait();
    inputs.o.list.push(2);
    (outputs.o as { list: number[] }).list.push(3);
    const first = task.report();
    (first.reports.echo_0.snapshots[0].inputs.o as { list: number[] }).list.push(4);
    const second = task.report();
    expect(second.reports.echo_0.snapshots[0].inputs).toEqual({ o: { list: [1] } });
    expect(second.reports.echo_0.snapshots[0].outputs).toEqual({ o: { list: [1] } });
    expect(second.reports.end_0.snapshots[0].inputs).toEqual({ o: { list: [1] } });
  });

  it('reports a node that ran several times once, with a snapshot per run', async () => {
    const schema = workflow(
      [
        startNode('start_0', { list: { type: 'array', items: { type: 'string' } } }),
        loopNode('loop_0', {
          loopFor: ref('start_0', 'list'),
          blocks: [blockStart('bs'), echoNode('inside', { v: input('string', ref('loop_0_locals', 'item')) }), blockEnd('be')],
          edges: chain('bs', 'inside', 'be'),
        }),
        endNode('end_0'),
      ],
      chain('start_0', 'loop_0', 'end_0'),
    );
    const { ours, upstream, oursReport } = await runBoth(runtime, schema, { list: ['a', 'b'] });
    expect(ours).toEqual(upstream);
    expect(oursReport.reports.inside.snapshots.map((s) => s.inputs)).toEqual([{ v: 'a' }, { v: 'b' }]);
    expect(new Set(oursReport.reports.inside.snapshots.map((s) => s.id)).size).toBe(2);
    expect(outcomeOf(oursReport).nodes.inside.runs).toBe(2);
  });
});
