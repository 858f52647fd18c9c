/**
 * Runs one workflow on our engine and on the upstream engine and reduces each report to what must agree:
 * workflow status, outputs, and per node its status, how often it ran and which branches it took.
 */
import type { IReport } from '@flowgram.ai/runtime-interface';
import { afterAll, beforeAll } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { testExecutors } from '../fixtures/test-nodes.js';
import { runUpstream, silenceConsole } from '../fixtures/upstream-engine.js';
import type { Schema } from '../fixtures/workflow-builders.js';

export interface NodeOutcome {
  status: string;
  runs: number;
  branches: string[];
}

export interface Outcome {
  status: string;
  outputs: Record<string, unknown>;
  nodes: Record<string, NodeOutcome>;
}

export function outcomeOf(report: IReport): Outcome {
  const nodes: Record<string, NodeOutcome> = {};
  for (const [nodeID, nodeReport] of Object.entries(report.reports)) {
    const branches: string[] = [];
    for (const snapshot of nodeReport.snapshots) if (snapshot.branch !== undefined) branches.push(snapshot.branch);
    nodes[nodeID] = { status: nodeReport.status, runs: nodeReport.snapshots.length, branches };
  }
  return { status: report.workflowStatus.status, outputs: report.outputs ?? {}, nodes };
}

/** A runtime with the test node types, for one test file. */
export function createTestRuntime(): Runtime {
  return createRuntime({ executors: testExecutors() });
}

/**
 * The runtime of one differential test file: upstream's console logging is silenced while the file
 * runs, and the runtime is closed after it.
 */
export function useDifferentialRuntime(): Runtime {
  const runtime = createTestRuntime();
  let restoreConsole: () => void = () => undefined;
  beforeAll(() => {
    restoreConsole = silenceConsole();
  });
  afterAll(async () => {
    restoreConsole();
    await runtime.close();
  });
  return runtime;
}

export async function runOurs(runtime: Runtime, schema: Schema, inputs: Record<string, unknown> = {}): Promise<IReport> {
  const task = runtime.start(schema as unknown as Record<string, unknown>, inputs);
  await task.done;
  return task.report();
}

export interface Comparison {
  ours: Outcome;
  upstream: Outcome;
  oursReport: IReport;
  upstreamReport: IReport;
}

/** Runs on both engines; upstream gets its own deep copy (it mutates the schema it is given). */
export async function runBoth(runtime: Runtime, schema: Schema, inputs: Record<string, unknown> = {}): Promise<Comparison> {
  const oursReport = await runOurs(runtime, schema, structuredClone(inputs));
  const upstreamReport = await runUpstream(structuredClone(schema), structuredClone(inputs));
  return { ours: outcomeOf(oursReport), upstream: outcomeOf(upstreamReport), oursReport, upstreamReport };
}

/**
 * The usual shape of a condition test: start → condition → (if_match) yes | (else) no → end, where
 * `yes` and `no` are echo nodes that output which way the workflow went.
 */
export function branchProbe(
  start: NodeSchemaLike,
  condition: NodeSchemaLike,
  extraNodes: NodeSchemaLike[] = [],
  globalVariable?: Schema['globalVariable'],
): Schema {
  const took = (value: string): NodeSchemaLike => ({
    id: value,
    type: 'echo',
    meta: { position: { x: 0, y: 0 } },
    data: {
      inputs: { type: 'object', properties: { took: { type: 'string' } } },
      inputsValues: { took: { type: 'constant', content: value } },
      outputs: { type: 'object', properties: { took: { type: 'string' } } },
    },
  });
  const end: NodeSchemaLike = {
    id: 'end_0',
    type: 'end',
    meta: { position: { x: 0, y: 0 } },
    data: {
      inputs: { type: 'object', properties: { yes: { type: 'string' }, no: { type: 'string' } } },
      inputsValues: { yes: { type: 'ref', content: ['yes', 'took'] }, no: { type: 'ref', content: ['no', 'took'] } },
    },
  };
  const schema: Schema = {
    nodes: [start, condition, took('yes'), took('no'), end, ...extraNodes],
    edges: [
      { sourceNodeID: start.id, targetNodeID: condition.id },
      { sourceNodeID: condition.id, targetNodeID: 'yes', sourcePortID: 'if_match' },
      { sourceNodeID: condition.id, targetNodeID: 'no', sourcePortID: 'else' },
      { sourceNodeID: 'yes', targetNodeID: 'end_0' },
      { sourceNodeID: 'no', targetNodeID: 'end_0' },
    ],
  };
  if (globalVariable) schema.globalVariable = globalVariable;
  return schema;
}

type NodeSchemaLike = Schema['nodes'][number];
