import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../runtime.js';
import type { NodeExecutor, TaskEvent } from './types.js';

/** Test node types: `step` outputs nothing at once; `wait` does the same a few ms later (to interleave). */
const executors: NodeExecutor[] = [
  { type: 'step', execute: () => ({ outputs: {} }) },
  {
    type: 'wait',
    execute: (context) => new Promise((resolve) => setTimeout(() => resolve({ outputs: {} }), Number(context.node.data.ms))),
  },
];
const runtime = createRuntime({ executors });
afterAll(() => runtime.close());

interface GeneratedNode {
  id: string;
  kind: 'step' | 'wait' | 'condition';
  /** For conditions: which of the start node's flags decides the branch. */
  flag: number;
  ms: number;
}

interface GeneratedEdge {
  from: number;
  to: number;
  /** For edges leaving a condition: 'if_yes' or 'else'. */
  port?: string;
}

interface GeneratedDag {
  nodes: GeneratedNode[];
  edges: GeneratedEdge[];
  flags: boolean[];
}

const FLAGS = 4;

/**
 * Random DAGs in topological order: node 0 is start, the last node is end. Every node but start has an
 * incoming edge from an earlier node; every node but end has an outgoing edge to a later one; conditions
 * get at least one edge on each of their two ports.
 */
const dagArbitrary: fc.Arbitrary<GeneratedDag> = fc
  .integer({ min: 0, max: 12 })
  .chain((middle) =>
    fc.record({
      kinds: fc.array(fc.constantFrom<GeneratedNode['kind']>('step', 'step', 'wait', 'condition'), { minLength: middle, maxLength: middle }),
      flagsOfNodes: fc.array(fc.integer({ min: 0, max: FLAGS - 1 }), { minLength: middle, maxLength: middle }),
      ms: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: middle, maxLength: middle }),
      extra: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: middle * 2 }),
      back: fc.array(fc.nat(), { minLength: middle + 1, maxLength: middle + 1 }),
      forward: fc.array(fc.nat(), { minLength: middle + 2, maxLength: middle + 2 }),
      flags: fc.array(fc.boolean(), { minLength: FLAGS, maxLength: FLAGS }),
    }),
  )
  .map(({ kinds, flagsOfNodes, ms, extra, back, forward, flags }) => {
    const count = kinds.length + 2;
    const nodes: GeneratedNode[] = [{ id: 'start_0', kind: 'step', flag: 0, ms: 0 }];
    kinds.forEach((kind, i) => nodes.push({ id: `n${i + 1}`, kind, flag: flagsOfNodes[i], ms: ms[i] }));
    nodes.push({ id: 'end_0', kind: 'step', flag: 0, ms: 0 });
    const edges = new Map<string, GeneratedEdge>();
    const add = (from: number, to: number, port?: string): void => {
      const edgeKey = `${from}>${to}`;
      if (from < to && !edges.has(edgeKey)) edges.set(edgeKey, port === undefined ? { from, to } : { from, to, port });
    };
    const portFor = (from: number, yes: boolean): string | undefined => (nodes[from].kind === 'condition' ? (yes ? 'if_yes' : 'else') : undefined);
    // Every node after start gets an edge from an earlier node.
    for (let to = 1; to < count; to++) add(back[to - 1] % to, to, portFor(back[to - 1] % to, to % 2 === 0));
    // Every node before end gets an edge to a later node; conditions get both ports covered.
    for (let from = 0; from < count - 1; from++) {
      const to = from + 1 + (forward[from] % (count - 1 - from));
      if (nodes[from].kind === 'condition') {
        const later = count - 1 - from;
        add(from, to, 'if_yes');
        add(from, from + 1 + ((forward[from] + 1) % later), 'else');
        if (later < 2 || ![...edges.values()].some((e) => e.from === from && e.port === 'else')) nodes[from].kind = 'step';
        if (![...edges.values()].some((e) => e.from === from && e.port === 'if_yes')) nodes[from].kind = 'step';
      } else {
        add(from, to, portFor(from, true));
      }
    }
    for (const [a, b, yes] of extra) {
      const from = a % (count - 1);
      const to = from + 1 + (b % (count - 1 - from));
      add(from, to, portFor(from, yes));
    }
    // A node demoted from condition to step keeps port IDs; ports on a step node are just names.
    return { nodes, edges: [...edges.values()], flags };
  });

function toSchema(dag: GeneratedDag): Record<string, unknown> {
  const nodes = dag.nodes.map((node, i) => {
    if (i === 0) {
      return { id: node.id, type: 'start', data: { outputs: { type: 'object', properties: { flags: { type: 'array', items: { type: 'boolean' } } } } } };
    }
    if (i === dag.nodes.length - 1) return { id: node.id, type: 'end', data: {} };
    if (node.kind === 'condition') {
      return {
        id: node.id,
        type: 'condition',
        data: { conditions: [{ key: 'if_yes', value: { left: { type: 'ref', content: ['start_0', 'flags', String(node.flag)] }, operator: 'is_true' } }] },
      };
    }
    return { id: node.id, type: node.kind, data: { ms: node.ms } };
  });
  const edges = dag.edges.map((edge) => ({
    sourceNodeID: dag.nodes[edge.from].id,
    targetNodeID: dag.nodes[edge.to].id,
    ...(edge.port !== undefined && dag.nodes[edge.from].kind === 'condition' ? { sourcePortID: edge.port } : {}),
  }));
  return { nodes, edges };
}

/** The reference semantics: in topological order, a node runs iff one of its incoming edges is live. */
function expectedRuns(dag: GeneratedDag): Set<string> {
  const ran = new Set<number>([0]);
  for (let i = 1; i < dag.nodes.length; i++) {
    const live = dag.edges.some((edge) => {
      if (edge.to !== i || !ran.has(edge.from)) return false;
      const source = dag.nodes[edge.from];
      if (source.kind !== 'condition') return true;
      return edge.port === (dag.flags[source.flag] ? 'if_yes' : 'else');
    });
    if (live) ran.add(i);
  }
  return new Set([...ran].map((i) => dag.nodes[i].id));
}

describe('scheduler (property-based, random DAGs)', () => {
  it('every reachable node runs exactly once, after all its predecessors that ran; the rest are skipped', async () => {
    await fc.assert(
      fc.asyncProperty(dagArbitrary, async (dag) => {
        const task = runtime.start(toSchema(dag), { flags: dag.flags });
        await task.done;
        expect(task.error).toBeUndefined();
        expect(task.status).toBe('succeeded');
        const events = task.events();
        const started = events.filter((e): e is Extract<TaskEvent, { type: 'node_started' }> => e.type === 'node_started').map((e) => e.nodeID);
        const expected = expectedRuns(dag);
        expect(new Set(started)).toEqual(expected);
        expect(started).toHaveLength(expected.size);
        // Order: a node starts only after every predecessor that ran has finished.
        const position = new Map<string, number>();
        events.forEach((event, index) => {
          if (event.type === 'node_started') position.set(`start:${event.nodeID}`, index);
          if (event.type === 'node_finished') position.set(`finish:${event.nodeID}`, index);
        });
        for (const edge of dag.edges) {
          const from = dag.nodes[edge.from].id;
          const to = dag.nodes[edge.to].id;
          if (expected.has(from) && expected.has(to)) {
            expect(position.get(`finish:${from}`) as number).toBeLessThan(position.get(`start:${to}`) as number);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('the end node runs exactly once whatever the branches, so a task always completes', async () => {
    await fc.assert(
      fc.asyncProperty(dagArbitrary, async (dag) => {
        const task = runtime.start(toSchema(dag), { flags: dag.flags });
        await task.done;
        const report = task.report();
        if (expectedRuns(dag).has('end_0')) expect(report.reports.end_0.snapshots).toHaveLength(1);
        expect(report.workflowStatus.terminated).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
