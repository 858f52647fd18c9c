/**
 * runNode: one node of a workflow runs alone, with the inputs given (validated against its
 * declarations) or as it ran in an earlier task, for every node type: start, condition, code, http,
 * llm, loop (its body for the given loopFor), end and a custom type. Nothing else of the workflow runs
 * (the echo server counts the HTTP calls), and the report holds just that node (and a loop's body).
 */
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTRPCClient, httpLink, type TRPCClientError } from '@trpc/client';
import { createRuntime, ErrorCodes, type FlowgramRouter, type Runtime } from '../src/index.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { delayNode, edge, endNode, startNode, workflow } from './fixtures/workflow-builders.js';
import { httpNode } from './helpers/counted-flow.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { startOpenAIServer, type OpenAIServer } from './helpers/openai-server.js';
import { request, startTestServer } from './helpers/server-harness.js';

const meta = { position: { x: 0, y: 0 } };
const ref = (...content: string[]): Record<string, unknown> => ({ type: 'ref', content });
const constant = (content: unknown): Record<string, unknown> => ({ type: 'constant', content });
const template = (content: string): Record<string, unknown> => ({ type: 'template', content });
const strings = { type: 'array', items: { type: 'string' } };

let echo: EchoServer;
let openai: OpenAIServer;
let runtime: Runtime;

/** start → condition → code → http → llm → loop (body: echo) → end: one node of each type. */
function kitchenSink(): Record<string, unknown> {
  const llmInputs = { modelName: 'string', apiKey: 'string', apiHost: 'string', temperature: 'number', prompt: 'string' };
  return {
    nodes: [
      { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: { type: 'object', properties: { name: { type: 'string' }, flag: { type: 'boolean' }, items: strings, key: { type: 'string' } } } } },
      { id: 'cond', type: 'condition', meta, data: { title: 'Cond', conditions: [{ key: 'if_flag', value: { left: ref('start_0', 'flag'), operator: 'is_true' } }] } },
      {
        id: 'code_0',
        type: 'code',
        meta,
        data: {
          title: 'Code',
          inputs: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
          inputsValues: { name: ref('start_0', 'name') },
          outputs: { type: 'object', properties: { greeting: { type: 'string' } } },
          script: { language: 'javascript', content: "async function main({ params }) { return { greeting: 'hi ' + params.name }; }" },
        },
      },
      httpNode('http_0', `${echo.origin}/echo?step=http&greeting={{code_0.greeting}}`),
      {
        id: 'llm_0',
        type: 'llm',
        meta,
        data: {
          title: 'LLM',
          inputs: { type: 'object', properties: Object.fromEntries(Object.entries(llmInputs).map(([key, type]) => [key, { type }])) },
          inputsValues: { modelName: constant('echo'), apiKey: ref('start_0', 'key'), apiHost: constant(openai.baseURL), temperature: constant(0), prompt: template('{{code_0.greeting}}') },
          outputs: { type: 'object', properties: { result: { type: 'string' } } },
        },
      },
      {
        id: 'loop_0',
        type: 'loop',
        meta,
        data: { title: 'Loop', loopFor: ref('start_0', 'items'), loopOutputs: { echoed: ref('t', 'item') } },
        blocks: [
          { id: 'bs', type: 'block-start', meta, data: {} },
          { id: 't', type: 'echo', meta, data: { title: 't', inputs: { type: 'object', properties: { item: { type: 'string' } } }, inputsValues: { item: ref('loop_0_locals', 'item') }, outputs: { type: 'object', properties: { item: { type: 'string' } } } } },
          { id: 'be', type: 'block-end', meta, data: {} },
        ],
        edges: [
          { sourceNodeID: 'bs', targetNodeID: 't' },
          { sourceNodeID: 't', targetNodeID: 'be' },
        ],
      },
      {
        id: 'end_0',
        type: 'end',
        meta,
        data: {
          title: 'End',
          inputs: { type: 'object', properties: { greeting: { type: 'string' }, echoed: strings } },
          inputsValues: { greeting: ref('code_0', 'greeting'), echoed: ref('loop_0', 'echoed') },
        },
      },
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'cond' },
      { sourceNodeID: 'cond', targetNodeID: 'code_0', sourcePortID: 'if_flag' },
      { sourceNodeID: 'cond', targetNodeID: 'code_0', sourcePortID: 'else' },
      { sourceNodeID: 'code_0', targetNodeID: 'http_0' },
      { sourceNodeID: 'http_0', targetNodeID: 'llm_0' },
      { sourceNodeID: 'llm_0', targetNodeID: 'loop_0' },
      { sourceNodeID: 'loop_0', targetNodeID: 'end_0' },
    ],
  };
}

beforeAll(async () => {
  [echo, openai] = await Promise.all([startEchoServer(), startOpenAIServer()]);
  runtime = createRuntime({ executors: testExecutors() });
});
afterAll(async () => {
  await runtime?.close();
  await Promise.all([echo?.close(), openai?.close()]);
});

const httpCalls = (): number => echo.requestsTo('/echo').length;
const reportNodes = (report: unknown): string[] => Object.keys((report as { reports: Record<string, unknown> }).reports).sort();

describe('runtime.runNode', () => {
  it('runs each node type alone with the inputs given; a loop runs its body for the given loopFor', async () => {
    const schema = kitchenSink();
    const calls = httpCalls();
    const start = await runtime.runNode(schema, 'start_0', { inputs: { name: 'Ada' } });
    expect(start).toMatchObject({ status: 'succeeded', outputs: { name: 'Ada' } });
    expect(reportNodes(start.report)).toEqual(['start_0']);

    const code = await runtime.runNode(schema, 'code_0', { inputs: { name: 'Bob' } });
    expect(code).toMatchObject({ status: 'succeeded', outputs: { greeting: 'hi Bob' } });
    expect(reportNodes(code.report)).toEqual(['code_0']);
    TaskReportDefine.schema.output.parse(code.report);

    const llm = await runtime.runNode(schema, 'llm_0', { inputs: { modelName: 'echo', apiKey: 'sk-test', apiHost: openai.baseURL, temperature: 0, prompt: 'hello' } });
    expect(llm).toMatchObject({ status: 'succeeded', outputs: { result: 'Echo: hello' } });

    const loop = await runtime.runNode(schema, 'loop_0', { inputs: { loopFor: ['x', 'y'] } });
    expect(loop).toMatchObject({ status: 'succeeded', outputs: { echoed: ['x', 'y'] } });
    expect(reportNodes(loop.report)).toEqual(['be', 'bs', 'loop_0', 't']);

    const end = await runtime.runNode(schema, 'end_0', { inputs: { greeting: 'bye' } });
    expect(end).toMatchObject({ status: 'succeeded', outputs: { greeting: 'bye' } });
    expect(httpCalls()).toBe(calls); // the HTTP node never ran

    const http = await runtime.runNode(schema, 'http_0', { inputs: {} });
    expect(http).toMatchObject({ status: 'succeeded', outputs: { statusCode: 200 } });
    expect(httpCalls()).toBe(calls + 1);
  });

  it('runs a custom node type alone, validating the inputs given against its declaration', async () => {
    const schema = {
      nodes: [
        { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: { type: 'object', properties: { n: { type: 'integer' } } } } },
        {
          id: 'custom',
          type: 'echo',
          meta,
          data: { title: 'Custom', inputs: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }, inputsValues: { n: ref('start_0', 'n') }, outputs: { type: 'object', properties: { n: { type: 'integer' } } } },
        },
        { id: 'end_0', type: 'end', meta, data: { title: 'End', inputs: { type: 'object', properties: { n: { type: 'integer' } } }, inputsValues: { n: ref('custom', 'n') } } },
      ],
      edges: [
        { sourceNodeID: 'start_0', targetNodeID: 'custom' },
        { sourceNodeID: 'custom', targetNodeID: 'end_0' },
      ],
    };
    const result = await runtime.runNode(schema, 'custom', { inputs: { n: 41 } });
    expect(result).toMatchObject({ status: 'succeeded', outputs: { n: 41 } });
    expect(reportNodes(result.report)).toEqual(['custom']);
    await expect(runtime.runNode(schema, 'custom', { inputs: {} })).rejects.toMatchObject({ code: ErrorCodes.INPUTS_INVALID, message: expect.stringContaining('n') });
  });

  it('runs a node as it ran in an earlier task: its refs read that task\'s outputs', async () => {
    const schema = kitchenSink();
    const task = runtime.start(schema, { name: 'Cy', flag: true, items: ['a'], key: 'sk-test' });
    expect(await task.wait()).toEqual({ greeting: 'hi Cy', echoed: ['a'] });
    const calls = httpCalls();

    const cond = await runtime.runNode(schema, 'cond', { taskID: task.id });
    expect(cond.status).toBe('succeeded');
    expect((cond.report.reports.cond.snapshots[0] as { branch?: string }).branch).toBe('if_flag');

    const http = await runtime.runNode(schema, 'http_0', { taskID: task.id });
    expect(http.status).toBe('succeeded');
    expect(httpCalls()).toBe(calls + 1);
    expect(echo.requestsTo('/echo').at(-1)?.query.get('greeting')).toBe('hi Cy');

    const loop = await runtime.runNode(schema, 'loop_0', { taskID: task.id });
    expect(loop.outputs).toEqual({ echoed: ['a'] });
  });

  it('refuses unknown nodes, nodes inside a loop and inputs that do not fit; reports a failing node', async () => {
    const schema = kitchenSink();
    await expect(runtime.runNode(schema, 'nope', { inputs: {} })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST, message: expect.stringContaining('"nope"') });
    await expect(runtime.runNode(schema, 't', { inputs: {} })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST, message: expect.stringContaining('loop_0') });
    await expect(runtime.runNode(schema, 'code_0', { inputs: { name: 5 } })).rejects.toMatchObject({ code: ErrorCodes.INPUTS_INVALID });
    await expect(runtime.runNode(schema, 'code_0', { taskID: 'no-such-task' })).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FOUND });
    const failed = await runtime.runNode(schema, 'loop_0', { inputs: {} }); // no loopFor: the loop itself fails
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: ErrorCodes.NODE_FAILED, nodeID: 'loop_0' });
  });
});

describe('POST /api/task/run-node', () => {
  it('answers the node\'s outcome and report; 400 names an unknown node', async () => {
    const server = await startTestServer({ runtime: createRuntime({ executors: testExecutors() }) });
    try {
      const post = (body: unknown): ReturnType<typeof request> =>
        request(`${server.url}/api/task/run-node`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const answer = await post({ schema: JSON.stringify(kitchenSink()), nodeID: 'code_0', inputs: { name: 'Dee' } });
      expect(answer).toMatchObject({ status: 200, body: { status: 'succeeded', outputs: { greeting: 'hi Dee' } } });
      TaskReportDefine.schema.output.parse((answer.body as { report: unknown }).report);
      expect(await post({ schema: kitchenSink(), nodeID: 'nope' })).toMatchObject({ status: 400, body: { code: ErrorCodes.BAD_REQUEST } });
      expect(await post({ schema: kitchenSink() })).toMatchObject({ status: 400, body: { message: 'nodeID: is required' } });
      expect(await post({ schema: kitchenSink(), nodeID: 'code_0', inputs: { name: 5 } })).toMatchObject({ status: 400, body: { code: ErrorCodes.INPUTS_INVALID, message: expect.stringContaining('name') } });
      expect(await post({ schema: kitchenSink(), nodeID: 'code_0', inputs: {}, taskID: 'x' })).toMatchObject({ status: 400, body: { code: ErrorCodes.BAD_REQUEST } });
      expect(await post({ schema: kitchenSink(), nodeID: 'code_0', taskID: 'no-such-task' })).toMatchObject({ status: 404, body: { code: ErrorCodes.TASK_NOT_FOUND } });
      // A task still running: 409 with the reason.
      const slow = server.runtime.start(workflow([startNode('start_0', {}), delayNode('wait', 60_000), endNode('end_0')], [edge('start_0', 'wait'), edge('wait', 'end_0')]));
      expect(await post({ schema: kitchenSink(), nodeID: 'code_0', taskID: slow.id })).toMatchObject({ status: 409, body: { code: ErrorCodes.TASK_CONFLICT, message: expect.stringContaining('processing') } });
      slow.cancel();

      const client = createTRPCClient<FlowgramRouter>({ links: [httpLink({ url: `${server.url}/trpc` })] });
      expect(await client.task.runNode.mutate({ schema: JSON.stringify(kitchenSink()), nodeID: 'code_0', inputs: { name: 'Eve' } })).toMatchObject({ status: 'succeeded', outputs: { greeting: 'hi Eve' } });
      const refused = await client.task.runNode.mutate({ schema: JSON.stringify(kitchenSink()), nodeID: 'nope', inputs: {} }).catch((error: unknown) => error);
      expect((refused as TRPCClientError<FlowgramRouter>).data).toMatchObject({ httpStatus: 400, flowgramCode: ErrorCodes.BAD_REQUEST });
    } finally {
      await server.close();
    }
  });
});
