import type { IReport, Runtime, WorkflowError, WorkflowInputs, WorkflowOutputs, WorkflowSchema, WorkflowStatusName } from '../../src/index.js';

export interface CodeWorkflowOptions {
  language?: string;
  /** Output keys of the code node that the end node passes on as the workflow's outputs. */
  outputs?: string[];
  /** Per-node limits (`data.limits`). */
  limits?: Record<string, number>;
  /** Start-node inputs handed to the script as params (all untyped). */
  params?: string[];
}

/** start → code → end, with the code node's params taken from the task inputs. */
export function codeWorkflow(content: string, options: CodeWorkflowOptions = {}): WorkflowSchema {
  const params = options.params ?? ['x'];
  const outputs = options.outputs ?? ['result'];
  const untyped = (keys: string[]): Record<string, Record<string, never>> => Object.fromEntries(keys.map((key) => [key, {}]));
  return {
    nodes: [
      { id: 'start_0', type: 'start', meta: { position: { x: 0, y: 0 } }, data: { title: 'Start', outputs: { type: 'object', properties: untyped(params) } } },
      {
        id: 'code_0',
        type: 'code',
        meta: { position: { x: 1, y: 0 } },
        data: {
          title: 'Code',
          inputs: { type: 'object', properties: untyped(params) },
          inputsValues: Object.fromEntries(params.map((key) => [key, { type: 'ref', content: ['start_0', key] }])),
          outputs: { type: 'object', properties: {} },
          script: { language: options.language ?? 'javascript', content },
          ...(options.limits ? { limits: options.limits } : {}),
        },
      },
      {
        id: 'end_0',
        type: 'end',
        meta: { position: { x: 2, y: 0 } },
        data: {
          title: 'End',
          inputs: { type: 'object', properties: untyped(outputs) },
          inputsValues: Object.fromEntries(outputs.map((key) => [key, { type: 'ref', content: ['code_0', key] }])),
        },
      },
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'code_0' },
      { sourceNodeID: 'code_0', targetNodeID: 'end_0' },
    ],
  } as unknown as WorkflowSchema;
}

export interface CodeRun {
  status: WorkflowStatusName;
  error: WorkflowError | undefined;
  /** The code node's own outputs and error, from its (first) snapshot. */
  nodeOutputs: WorkflowOutputs | undefined;
  nodeError: string | undefined;
  /** The workflow's outputs. */
  outputs: WorkflowOutputs | undefined;
  messages: IReport['messages'];
  /** Wall time from start to end (ms). */
  ms: number;
}

/** Runs `codeWorkflow(content, options)` on `runtime` to its end and sums up what happened. */
export async function runCodeWorkflow(runtime: Runtime, content: string, inputs: WorkflowInputs = { x: 1 }, options: CodeWorkflowOptions = {}): Promise<CodeRun> {
  const started = performance.now();
  const task = runtime.start(codeWorkflow(content, options), inputs);
  await task.done;
  const ms = performance.now() - started;
  const report = task.report();
  const snapshot = report.reports.code_0?.snapshots[0];
  return {
    status: task.status,
    error: task.error,
    nodeOutputs: snapshot?.outputs,
    nodeError: snapshot?.error,
    outputs: task.result(),
    messages: report.messages,
    ms,
  };
}
