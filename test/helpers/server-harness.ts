/**
 * Starts the real server on an ephemeral loopback port and talks to it over HTTP, the way the
 * flowgram.ai editor does. Every test file closes what it started in afterAll.
 */
import { createRuntime, createServer, type FlowgramServer, type Runtime, type ServerOptions } from '../../src/index.js';
import { testExecutors } from '../fixtures/test-nodes.js';
import { delayNode, endNode, failNode, input, ref, startNode, template, type Schema } from '../fixtures/workflow-builders.js';

export interface TestServer {
  url: string;
  server: FlowgramServer;
  runtime: Runtime;
  close(): Promise<void>;
}

/** A server on a runtime that knows the test node types (echo, fail, delay). */
export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const runtime =
    options.runtime ?? createRuntime({ executors: testExecutors(), ...options.runtimeOptions, ...(options.concurrency ? { concurrency: options.concurrency } : {}) });
  const server = await createServer({ apiToken: null, ...options, runtime });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    server,
    runtime,
    async close() {
      await server.close();
      if (!options.runtime) await runtime.close();
    },
  };
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = unknown>(url: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: the test looks at the text.
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

export function postJson<T = unknown>(url: string, body: unknown, method = 'POST', headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  return request<T>(url, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** start(name) → end(greeting = "Hello, {{name}}!"). */
export function helloSchema(): Schema {
  return {
    nodes: [
      startNode('start_0', { name: 'string' }),
      endNode('end_0', { greeting: input('string', template('Hello, {{start_0.name}}!')) }),
    ],
    edges: [{ sourceNodeID: 'start_0', targetNodeID: 'end_0' }],
  };
}

/** start → delay(ms) → end(echoed). Cancellation interrupts the delay. */
export function slowSchema(ms: number): Schema {
  return {
    nodes: [
      startNode('start_0', { name: 'string' }),
      delayNode('delay_0', ms, { name: input('string', ref('start_0', 'name')) }),
      endNode('end_0', { name: input('string', ref('delay_0', 'name')) }),
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'delay_0' },
      { sourceNodeID: 'delay_0', targetNodeID: 'end_0' },
    ],
  };
}

/** start → fail("boom") → end. */
export function failingSchema(): Schema {
  return {
    nodes: [startNode('start_0', {}), failNode('fail_0', 'boom'), endNode('end_0')],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'fail_0' },
      { sourceNodeID: 'fail_0', targetNodeID: 'end_0' },
    ],
  };
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: unknown;
}

/** Reads a whole event stream (it ends after workflow_finished) and parses its events. */
export async function readEventStream(url: string, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers } });
  const text = await response.text();
  const events: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    const event: SseEvent = { data: undefined };
    let hasData = false;
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) event.id = line.slice(4);
      else if (line.startsWith('event: ')) event.event = line.slice(7);
      else if (line.startsWith('data: ')) {
        event.data = JSON.parse(line.slice(6));
        hasData = true;
      }
    }
    if (hasData) events.push(event);
  }
  return { status: response.status, contentType: response.headers.get('content-type'), events };
}

/** Polls the report until the task has ended, as the editor does. */
export async function waitForEnd(url: string, taskID: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { body } = await request<{ workflowStatus?: { terminated: boolean } }>(`${url}/api/task/report?taskID=${taskID}`);
    if (body.workflowStatus?.terminated) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`task ${taskID} did not end within ${timeoutMs} ms`);
}
