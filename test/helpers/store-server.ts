/**
 * A minimal HTTP front for a runtime with a SQLite store (or PostgreSQL, given a postgres:// URL), for
 * the crash tests: it must be a separate process that can be killed with SIGKILL.
 * Run: node --import tsx test/helpers/store-server.ts <db path | postgres URL> [--die-after-claim] [--lease-ms=N]
 * Prints `listening <port>` once it accepts requests. Node types: the test nodes (`delay`, `echo`, `fail`).
 * `--die-after-claim`: the process SIGKILLs itself as soon as a signal's claim of a waiting task is
 * committed (before the continued run writes anything), the window a crash test needs to hit.
 *
 *   POST /run {schema, inputs}   → {taskID}         (answered only after the task is persisted)
 *   GET  /result?taskID=         → {status, outputs} | 404
 *   GET  /report?taskID=         → IReport | 404
 *   POST /signal {taskID, nodeID, data} → {taskID, status} (answered once durable) | {code, message}
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createPostgresStore, createRuntime, createSqliteStore } from '../../src/index.js';
import { testExecutors } from '../fixtures/test-nodes.js';

const path = process.argv[2];
if (!path) throw new Error('usage: store-server.ts <db path | postgres URL>');
const store = path.startsWith('postgres://') ? await createPostgresStore({ url: path }) : createSqliteStore({ path });
if (process.argv.includes('--die-after-claim')) {
  const claimWaiting = store.claimWaiting.bind(store);
  store.claimWaiting = async (taskID, owner) => {
    const claimed = await claimWaiting(taskID, owner);
    if (claimed) process.kill(process.pid, 'SIGKILL');
    return claimed;
  };
}
const leaseMs = Number(process.argv.find((arg) => arg.startsWith('--lease-ms='))?.slice('--lease-ms='.length) ?? 30_000);
const runtime = createRuntime({ executors: testExecutors(), store, recovery: { leaseMs } });

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function readJSON(request: IncomingMessage): Promise<{ schema: Record<string, unknown>; inputs?: Record<string, unknown> }> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { schema: Record<string, unknown>; inputs?: Record<string, unknown> };
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const taskID = url.searchParams.get('taskID') ?? '';
  if (request.method === 'POST' && url.pathname === '/run') {
    const { schema, inputs } = await readJSON(request);
    const task = runtime.start(schema, inputs);
    await runtime.flush(); // the task is on disk before the client hears of it
    send(response, 200, { taskID: task.id });
  } else if (request.method === 'POST' && url.pathname === '/signal') {
    const { taskID: id, nodeID, data } = (await readJSON(request)) as unknown as { taskID: string; nodeID: string; data: Record<string, unknown> };
    try {
      const task = await runtime.signal(id, nodeID, data);
      await runtime.flush();
      send(response, 200, { taskID: task.id, status: task.status });
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string };
      send(response, 409, { code, message });
    }
  } else if (url.pathname === '/result') {
    const result = await runtime.getResult(taskID);
    send(response, result ? 200 : 404, result ?? { error: 'not found' });
  } else if (url.pathname === '/report') {
    const report = await runtime.getReport(taskID);
    send(response, report ? 200 : 404, report ?? { error: 'not found' });
  } else {
    send(response, 404, { error: 'no such route' });
  }
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => send(response, 500, { error: String(error) }));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
