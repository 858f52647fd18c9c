/**
 * The tRPC endpoint at /trpc, driven by @trpc/client: queries over GET `?input=`, mutations over POST,
 * batching, upstream's path-style procedure names, and errors that keep their FlowgramError code.
 */
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type FlowgramRouter } from '../src/index.js';
import { helloSchema, request, slowSchema, startTestServer, type TestServer } from './helpers/server-harness.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

describe('tRPC', () => {
  it('runs a task and reads its report and result, batched', async () => {
    const client = createTRPCClient<FlowgramRouter>({ links: [httpBatchLink({ url: `${server.url}/trpc` })] });
    const info = await client.info.query();
    expect(info.name).toBe('flowgram-runtime');

    const { taskID } = await client.task.run.mutate({ schema: JSON.stringify(helloSchema()), inputs: { name: 'tRPC' } });
    const outputs = await client.task.result.query({ taskID, wait: 5_000 });
    expect(outputs).toEqual({ greeting: 'Hello, tRPC!' });

    // Two queries in one batch (one HTTP request).
    const [report, tasks] = await Promise.all([client.task.report.query({ taskID }), client.task.list.query({ limit: 5 })]);
    expect(report.workflowStatus.status).toBe('succeeded');
    expect(tasks.tasks.some((task) => task.id === taskID)).toBe(true);

    const validation = await client.task.validate.mutate({ schema: '{"nodes":[],"edges":[]}', inputs: {} });
    expect(validation.valid).toBe(false);
  });

  it('cancels through a mutation', async () => {
    const client = createTRPCClient<FlowgramRouter>({ links: [httpLink({ url: `${server.url}/trpc` })] });
    const { taskID } = await client.task.run.mutate({ schema: JSON.stringify(slowSchema(5_000)), inputs: { name: 'x' } });
    expect(await client.task.cancel.mutate({ taskID })).toEqual({ success: true });
  });

  it('keeps the FlowgramError code and HTTP status of a failure', async () => {
    const client = createTRPCClient<FlowgramRouter>({ links: [httpLink({ url: `${server.url}/trpc` })] });
    const error = await client.task.report.query({ taskID: 'nope' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCClientError);
    const data = (error as TRPCClientError<FlowgramRouter>).data as { httpStatus: number; flowgramCode: string };
    expect(data.httpStatus).toBe(404);
    expect(data.flowgramCode).toBe(ErrorCodes.TASK_NOT_FOUND);

    const parse = await client.task.run.mutate({ schema: '{oops', inputs: {} }).catch((caught: unknown) => caught);
    expect((parse as TRPCClientError<FlowgramRouter>).data).toMatchObject({ httpStatus: 400, flowgramCode: ErrorCodes.SCHEMA_PARSE });

    // A limit on what the request holds is the request's fault (400, as on the REST routes), not load (429).
    const deep = `${'['.repeat(200)}${']'.repeat(200)}`;
    const tooDeep = await client.task.run.mutate({ schema: JSON.stringify(helloSchema()), inputs: { name: JSON.parse(deep) as string } }).catch((caught: unknown) => caught);
    expect((tooDeep as TRPCClientError<FlowgramRouter>).data).toMatchObject({ httpStatus: 400, flowgramCode: ErrorCodes.LIMIT_EXCEEDED });
    expect((tooDeep as TRPCClientError<FlowgramRouter>).message).toMatch(/^maxJsonDepth: /);

    const missing = await client.task.result.query({} as { taskID: string }).catch((caught: unknown) => caught);
    expect((missing as TRPCClientError<FlowgramRouter>).message).toMatch(/^taskID: /);
    expect((missing as TRPCClientError<FlowgramRouter>).data).toMatchObject({ httpStatus: 400, flowgramCode: ErrorCodes.BAD_REQUEST });
  });

  it('answers upstream\'s path-style procedure names over plain HTTP', async () => {
    const info = await request<{ result: { data: { runtime: string } } }>(`${server.url}/trpc//info`);
    expect(info.status).toBe(200);
    expect(info.body.result.data.runtime).toBe('Node.js');

    const run = await request<{ result: { data: { taskID: string } } }>(`${server.url}/trpc//task/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schema: JSON.stringify(helloSchema()), inputs: { name: 'path' } }),
    });
    expect(run.status).toBe(200);
    const taskID = run.body.result.data.taskID;
    const input = encodeURIComponent(JSON.stringify({ taskID, wait: 5_000 }));
    const result = await request<{ result: { data: unknown } }>(`${server.url}/trpc//task/result?input=${input}`);
    expect(result.body.result.data).toEqual({ greeting: 'Hello, path!' });
  });
});
