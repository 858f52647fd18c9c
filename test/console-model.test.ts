/**
 * The console's DOM-free logic, in Node: graph layout, what the viewer derives from a report (node and
 * iteration states, taken edges, the failing node), and how server validation messages find their fields.
 */
import { describe, expect, it } from 'vitest';
import { NODE_W, layoutLevel } from '../src/console/layout.js';
import { RunModel } from '../src/console/run-model.js';
import type { NodeReport, Report, SchemaNode, WorkflowSchema } from '../src/console/types.js';
import { fieldErrors } from '../src/console/validation-errors.js';
import { errorLine } from '../src/console/error-line.js';

const node = (id: string, x?: number, y?: number): SchemaNode => ({ id, type: 'echo', ...(x === undefined ? {} : { meta: { position: { x, y } } }), data: { title: id } });

function nodeReport(id: string, status: NodeReport['status'], snapshots: NodeReport['snapshots']): NodeReport {
  return { id, status, terminated: status !== 'processing', startTime: 1_000, endTime: status === 'processing' ? undefined : 1_010, timeCost: 10, snapshots };
}

function report(status: Report['workflowStatus']['status'], reports: NodeReport[], errors: Report['messages']['error'] = []): Report {
  return {
    id: 't',
    inputs: {},
    outputs: {},
    workflowStatus: { status, terminated: status !== 'processing', startTime: 1_000, timeCost: 20 },
    reports: Object.fromEntries(reports.map((entry) => [entry.id, entry])),
    messages: { log: [], info: [], debug: [], warning: [], error: errors },
  };
}

describe('console layout', () => {
  it('keeps the editor positions, shifted to start at 0', () => {
    const level = layoutLevel([node('a', -100, 50), node('b', 180, 50)], []);
    expect(level.boxes.map((box) => [box.x, box.y])).toEqual([[0, 0], [280, 0]]);
    expect(level.width).toBe(280 + NODE_W);
  });

  it('closes the wide empty bands of the editor, keeping its order, rows and columns', () => {
    // The editor's usual spacing (wide nodes, 460 apart; branches 200 apart) and an End node far away.
    const level = layoutLevel([node('start', 0, 300), node('cond', 460, 300), node('yes', 920, 200), node('no', 920, 400), node('end', 5000, 300)], []);
    const at = Object.fromEntries(level.boxes.map((box) => [box.node.id, [box.x, box.y]]));
    expect(at.start[0]).toBe(0);
    expect(at.cond[0]).toBe(NODE_W + 100);
    expect(at.yes[0]).toBe(at.no[0]);
    expect(at.end[0]).toBe(at.yes[0] + NODE_W + 100);
    expect(at.start[1]).toBe(at.cond[1]);
    expect(at.start[1]).toBe(at.end[1]);
    expect(at.yes[1]).toBe(0);
    expect(at.no[1] - at.yes[1]).toBe(200);
    expect(level.width).toBe(at.end[0] + NODE_W);
  });

  it('lays out by depth where positions are missing or would overlap', () => {
    const edges = [{ sourceNodeID: 'a', targetNodeID: 'b' }, { sourceNodeID: 'b', targetNodeID: 'c' }];
    const stacked = layoutLevel([node('a', 0, 0), node('b', 0, 0), node('c', 0, 0)], edges);
    const xs = stacked.boxes.map((box) => box.x);
    expect(new Set(xs).size).toBe(3);
    expect(xs[0]).toBeLessThan(xs[1]);
    expect(xs[1]).toBeLessThan(xs[2]);
    const mixed = layoutLevel([node('a', 0, 0), node('b')], edges.slice(0, 1));
    expect(mixed.boxes[1].y).toBeGreaterThan(mixed.boxes[0].y + mixed.boxes[0].h);
  });

  it('makes a loop a container that holds its laid-out block', () => {
    const loop: SchemaNode = { ...node('loop', 0, 0), blocks: [node('i1', 0, 0), node('i2', 400, 0)], edges: [] };
    const [box] = layoutLevel([loop], []).boxes;
    expect(box.inner?.boxes).toHaveLength(2);
    expect(box.w).toBeGreaterThan(2 * NODE_W);
    expect(box.inner?.boxes[1].x).toBeGreaterThanOrEqual(NODE_W);
  });
});

describe('console run model', () => {
  const schema: WorkflowSchema = {
    nodes: [node('start'), node('cond'), node('yes'), node('no')],
    edges: [
      { sourceNodeID: 'start', targetNodeID: 'cond' },
      { sourceNodeID: 'cond', targetNodeID: 'yes', sourcePortID: 'if_yes' },
      { sourceNodeID: 'cond', targetNodeID: 'no', sourcePortID: 'else' },
    ],
  };

  it('marks the branch taken, the other untaken, and a node that never ran as skipped once the run ended', () => {
    const model = new RunModel(schema, report('succeeded', [
      nodeReport('start', 'succeeded', [{ id: 't:1', nodeID: 'start', outputs: {} }]),
      nodeReport('cond', 'succeeded', [{ id: 't:2', nodeID: 'cond', outputs: {}, branch: 'if_yes' }]),
      nodeReport('yes', 'succeeded', [{ id: 't:3', nodeID: 'yes', outputs: {} }]),
    ]));
    expect(schema.edges?.map((edge) => model.edgeState(edge))).toEqual(['taken', 'taken', 'untaken']);
    expect(model.state('no')).toBe('skipped');
    const running = new RunModel(schema, report('processing', [nodeReport('start', 'processing', [{ id: 't:1', nodeID: 'start' }])]));
    expect(running.state('no')).toBe('pending');
    expect(running.edgeState(schema.edges![0])).toBe('pending');
  });

  it('gives each iteration its own state and logs, and names the node whose error came first', () => {
    const runs = [
      { id: 't:2', nodeID: 'yes', inputs: { n: 1 }, outputs: { r: 1 } },
      { id: 't:3', nodeID: 'yes', inputs: { n: 2 }, error: 'bad 2' },
    ];
    const errors = [
      { id: 'm2', type: 'error' as const, message: 'loop failed', nodeID: 'cond', timestamp: 1_005 },
      { id: 'm1', type: 'error' as const, message: 'bad 2', nodeID: 'yes', snapshotID: 't:3', timestamp: 1_004 },
    ];
    const model = new RunModel(schema, {
      ...report('failed', [nodeReport('yes', 'failed', runs), nodeReport('cond', 'failed', [{ id: 't:1', nodeID: 'cond', error: 'loop failed' }])], errors),
      messages: { log: [{ id: 'm0', type: 'log', message: 'one', nodeID: 'yes', snapshotID: 't:2', timestamp: 1_001 }], info: [], debug: [], warning: [], error: errors },
    });
    expect([model.snapshotState('yes', 0), model.snapshotState('yes', 1)]).toEqual(['succeeded', 'failed']);
    expect(model.logs('yes', runs[0]).map((message) => message.message)).toEqual(['one']);
    expect(model.logs('yes', runs[1]).map((message) => message.message)).toEqual(['bad 2']);
    expect(model.failure()).toEqual({ nodeID: 'yes', message: 'bad 2' });
  });

  it('says a run waits while a wait node waits for its answer, and no longer once the run ended', () => {
    const waiting = nodeReport('yes', 'processing', [{ id: 't:3', nodeID: 'yes', inputs: { amount: 1 }, waiting: true, deadline: 5_000 }]);
    const model = new RunModel(schema, report('processing', [nodeReport('start', 'succeeded', [{ id: 't:1', nodeID: 'start', outputs: {} }]), waiting]));
    expect(model.waitingNodes()).toEqual(['yes']);
    expect(model.state('yes')).toBe('waiting');
    expect(model.snapshotState('yes', 0)).toBe('waiting');
    expect(model.workflowState()).toBe('waiting');
    expect(model.state('no')).toBe('pending');
    const cancelled = new RunModel(schema, report('canceled', [{ ...waiting, status: 'canceled', terminated: true }]));
    expect(cancelled.waitingNodes()).toEqual([]);
    expect(cancelled.state('yes')).toBe('canceled');
    expect(cancelled.workflowState()).toBe('canceled');
  });

  it('is not fooled by a node ID that is an Object.prototype key', () => {
    const model = new RunModel({ nodes: [node('constructor')], edges: [] }, report('succeeded', []));
    expect(model.state('constructor')).toBe('skipped');
  });
});

describe('console validation errors', () => {
  it('sorts the server messages to their input fields', () => {
    expect(fieldErrors(['inputs.limit: must be number', 'inputs.tags.0: must be string', 'nodes[1].data: broken', 'inputs: must be an object'])).toEqual({
      fields: { limit: 'must be number', tags: 'must be string' },
      other: ['nodes[1].data: broken', 'inputs: must be an object'],
    });
    // A wait node's answer: its fields are under `data`.
    expect(fieldErrors(['data.labels.0: must be string', 'inputs.x: no'], 'data')).toEqual({ fields: { labels: 'must be string' }, other: ['inputs.x: no'] });
  });
});

describe('console code view', () => {
  it('finds the script line an error names', () => {
    expect(errorLine("TypeError: cannot read property 'x' of null (line 4)")).toBe(4);
    expect(errorLine('SyntaxError: unexpected token (line 2, column 1)')).toBe(2);
    expect(errorLine('Traceback (most recent call last):\n  File "<exec>", line 3, in main\nValueError: no')).toBe(3);
    expect(errorLine('boom')).toBeUndefined();
    expect(errorLine(undefined)).toBeUndefined();
  });
});
