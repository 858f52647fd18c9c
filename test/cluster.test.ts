/**
 * Scale-out end to end: 2 API servers (`flowgram serve --queue`) and 3 workers (`flowgram worker`) as
 * child processes over a private Redis and PostgreSQL. Any server answers for any task; a cancel
 * reaches the worker; a SIGKILLed worker's tasks end anyway; a Redis restart is survived; bad URLs
 * fail at start with one line and exit code 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_MESSAGE } from '../src/store/recovery.js';
import { Fleet, call, metricValue, runCli, type ApiServer } from './helpers/cluster-fleet.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { echoFlow, httpFlow } from './helpers/cluster-flows.js';
import { freePort, redisBinary } from './helpers/redis.js';
import { postgresBinDir } from './helpers/postgres.js';

const available = redisBinary() !== undefined && postgresBinDir() !== undefined;
if (!available) console.warn('cluster.test: skipped, redis-server and PostgreSQL (initdb, pg_ctl) must be installed (see .ci/run)');

interface Summary {
  id: string;
  status: string;
  error?: string;
}
interface StreamEvent {
  type: string;
  nodeID?: string;
  status?: string;
}

async function submit(server: ApiServer, schema: string, inputs: Record<string, unknown> = {}): Promise<string> {
  const { status, body } = await call<{ taskID: string }>(server.url, 'POST', '/api/task/run', { schema, inputs });
  expect(status).toBe(200);
  return body.taskID;
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function inBatches<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        out[index] = await work(items[index], index);
      }
    }),
  );
  return out;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Reads an SSE stream to its end; `events` fills as they arrive. */
function readStream(url: string): { events: StreamEvent[]; done: Promise<StreamEvent[]> } {
  const events: StreamEvent[] = [];
  const done = (async () => {
    const response = await fetch(url);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').find((line) => line.startsWith('data: '));
        if (data) events.push(JSON.parse(data.slice(6)) as StreamEvent);
      }
    }
    return events;
  })();
  return { events, done };
}

async function allTasks(server: ApiServer): Promise<Summary[]> {
  const { body } = await call<{ tasks: Summary[] }>(server.url, 'GET', '/api/tasks?limit=1000');
  return body.tasks;
}

describe.skipIf(!available)('cluster: flowgram serve --queue + flowgram worker', () => {
  let fleet: Fleet;
  let echo: EchoServer;
  let a: ApiServer;
  let b: ApiServer;

  beforeAll(async () => {
    [fleet, echo] = await Promise.all([Fleet.start(), startEchoServer()]);
    // The workers migrate the database first; servers and workers then start side by side.
    await fleet.startWorker(4, 3_000);
    [a, b] = await Promise.all([fleet.startServer(), fleet.startServer(), fleet.startWorker(4, 3_000), fleet.startWorker(4, 3_000)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([fleet?.stop(), echo?.close()]);
  });

  it('runs 500 tasks submitted through both servers on all three workers, with correct outputs', async () => {
    const inputs = Array.from({ length: 500 }, (_, n) => n);
    const ids = await inBatches(inputs, 25, (n) => submit(n % 2 === 0 ? a : b, echoFlow, { n }));
    expect(new Set(ids).size).toBe(500);

    await waitFor('500 tasks to succeed', async () => {
      const { body } = await call<{ tasks: Summary[] }>(a.url, 'GET', '/api/tasks?status=succeeded&limit=1000');
      return body.tasks.length >= 500 ? true : undefined;
    }, 60_000);
    // Every output checked, each through the server that did not accept the task.
    const outputs = await inBatches(ids, 25, async (taskID, n) => (await call<{ n: number }>((n % 2 === 0 ? b : a).url, 'GET', `/api/task/result?taskID=${taskID}`)).body);
    expect(outputs).toEqual(inputs.map((n) => ({ n })));

    const started = await Promise.all(fleet.workers.map(async (worker) => metricValue(await (await fetch(worker.metricsURL)).text(), 'flowgram_tasks_started_total')));
    for (const count of started) expect(count).toBeGreaterThan(0);
    expect(started.reduce((sum, count) => sum + count, 0)).toBe(500);

    const metrics = await fetch(`${a.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(metricValue(text, 'flowgram_queue_workers')).toBe(3);
    expect(metricValue(text, 'flowgram_queue_jobs{state="waiting"}')).toBe(0);
  }, 120_000);

  it('answers report, result, stream and cancel through the server that did not accept the task', async () => {
    // A finished task, seen from the other server.
    const done = await submit(a, echoFlow, { n: 7 });
    expect((await call(b.url, 'GET', `/api/task/result?taskID=${done}&wait=10000`)).body).toEqual({ n: 7 });
    const finishedReport = await call<{ workflowStatus: { status: string }; reports: Record<string, unknown> }>(b.url, 'GET', `/api/task/report?taskID=${done}`);
    expect(finishedReport.body.workflowStatus.status).toBe('succeeded');
    expect(Object.keys(finishedReport.body.reports).sort()).toEqual(['end_0', 'start_0']);
    const replay = await readStream(`${b.url}/api/task/stream?taskID=${done}`).done;
    expect(replay.at(-1)).toMatchObject({ type: 'workflow_finished', status: 'succeeded' });

    // A running task: its HTTP node waits on a request that never gets an answer.
    const hanging = await submit(a, httpFlow(`${echo.origin}/hang`));
    const stream = readStream(`${b.url}/api/task/stream?taskID=${hanging}`);
    await echo.waitForRequest('/hang');
    const live = await waitFor('the live report to show the HTTP node running', async () => {
      const { body } = await call<{ workflowStatus: { status: string }; reports: Record<string, { status: string }> }>(b.url, 'GET', `/api/task/report?taskID=${hanging}`);
      return body.reports.http_0?.status === 'processing' ? body : undefined;
    });
    expect(live.workflowStatus.status).toBe('processing');
    expect((await call(b.url, 'GET', `/api/task/result?taskID=${hanging}`)).status).toBe(409);
    expect((await allTasks(b)).find((task) => task.id === hanging)?.status).toBe('processing');

    expect((await call(b.url, 'PUT', '/api/task/cancel', { taskID: hanging })).body).toEqual({ success: true });
    const events = await stream.done;
    expect(events.map((event) => event.type)).toContain('node_started');
    expect(events.at(-1)).toMatchObject({ type: 'workflow_finished', status: 'canceled' });
    // The in-flight request was aborted by the worker.
    await waitFor('the hanging request to be aborted', async () => (echo.requestsTo('/hang')[0]?.abortedByClient ? true : undefined));

    const cancelled = await call<{ workflowStatus: { status: string }; reports: Record<string, { status: string }> }>(a.url, 'GET', `/api/task/report?taskID=${hanging}`);
    expect(cancelled.body.workflowStatus.status).toBe('canceled');
    expect(cancelled.body.reports.http_0.status).toBe('canceled');
    expect((await call(a.url, 'PUT', '/api/task/cancel', { taskID: hanging })).body).toEqual({ success: true });
    expect((await call(a.url, 'GET', '/api/task/report?taskID=no-such-task')).status).toBe(404);
  }, 60_000);

  it('ends every task of a worker killed with SIGKILL: others continue them, "resumable": false ones fail as interrupted', async () => {
    const slowResumable = httpFlow(`${echo.origin}/slow?ms=1500`);
    const slowOnce = httpFlow(`${echo.origin}/slow?ms=1500`, { resumable: false });
    const before = echo.requestsTo('/slow').length;
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => submit(i % 2 ? a : b, i % 2 ? slowResumable : slowOnce)));
    const resumable = new Set(ids.filter((_, i) => i % 2));

    // The victim: a worker with tasks in flight.
    const victim = await waitFor('a busy worker', async () => {
      for (const worker of fleet.workers) {
        const text = await (await fetch(worker.metricsURL)).text();
        const ended = ['succeeded', 'failed', 'canceled'].reduce((sum, status) => sum + metricValue(text, `flowgram_tasks_finished_total{status="${status}"}`), 0);
        if (metricValue(text, 'flowgram_tasks_started_total') > ended) return worker;
      }
      return undefined;
    });
    await victim.stop('SIGKILL');
    fleet.workers.splice(fleet.workers.indexOf(victim), 1);

    const ended = await waitFor('every task to end', async () => {
      const tasks = (await allTasks(a)).filter((task) => ids.includes(task.id));
      return tasks.length === 12 && tasks.every((task) => !['pending', 'processing'].includes(task.status)) ? tasks : undefined;
    }, 40_000);
    const interrupted = ended.filter((task) => task.status === 'failed');
    for (const task of interrupted) {
      expect(resumable.has(task.id)).toBe(false);
      expect(task.error).toBe(INTERRUPTED_MESSAGE);
    }
    for (const task of ended.filter((candidate) => resumable.has(candidate.id))) expect(task.status).toBe('succeeded');
    // The victim's tasks were either continued (their request in flight sent again) or failed as interrupted.
    const reruns = echo.requestsTo('/slow').length - before - 12;
    expect(reruns + interrupted.length).toBeGreaterThan(0);
  }, 60_000);

  it('survives a Redis restart while idle', async () => {
    await fleet.redis.restart();
    const ids = await waitFor('the servers to accept tasks again', async () => {
      try {
        return await Promise.all(Array.from({ length: 10 }, (_, n) => submit(n % 2 ? a : b, echoFlow, { n })));
      } catch {
        return undefined;
      }
    });
    const outputs = await Promise.all(ids.map(async (taskID, n) => (await call((n % 2 ? b : a).url, 'GET', `/api/task/result?taskID=${taskID}&wait=20000`)).body));
    expect(outputs).toEqual(ids.map((_, n) => ({ n })));
  }, 60_000);

  it('stops a worker gracefully on SIGTERM: it finishes its running tasks, then exits 0', async () => {
    const ids = await Promise.all(Array.from({ length: 4 }, (_, i) => submit(i % 2 ? a : b, httpFlow(`${echo.origin}/slow?ms=800`))));
    const busy = await waitFor('a busy worker', async () => {
      for (const worker of fleet.workers) {
        const text = await (await fetch(worker.metricsURL)).text();
        const ended = ['succeeded', 'failed', 'canceled'].reduce((sum, status) => sum + metricValue(text, `flowgram_tasks_finished_total{status="${status}"}`), 0);
        if (metricValue(text, 'flowgram_tasks_started_total') > ended) return worker;
      }
      return undefined;
    });
    expect(await busy.stop('SIGTERM')).toBe(0);
    fleet.workers.splice(fleet.workers.indexOf(busy), 1);
    const outputs = await Promise.all(ids.map(async (taskID) => (await call(a.url, 'GET', `/api/task/result?taskID=${taskID}&wait=20000`)).body));
    expect(outputs).toEqual(ids.map(() => ({ statusCode: 200 })));
  }, 60_000);

  it('refuses bad --queue and --db URLs with one clear line and exit code 2', async () => {
    const closed = await freePort();
    const cases: Array<[string[], RegExp]> = [
      [['serve', '--queue', 'http://127.0.0.1:6379', '--port', '0'], /^flowgram: --queue: "http:\/\/127\.0\.0\.1:6379\/?" must start with redis:\/\/ or rediss:\/\/\n$/],
      [['worker', '--queue', `redis://127.0.0.1:${closed}`, '--db', fleet.postgres.url], /^flowgram: --queue: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/?: .+\n$/],
      [['worker', '--db', fleet.postgres.url], /^flowgram: --queue: required/],
      [['serve', '--queue', fleet.redis.url, '--db', `postgres://postgres:secret@127.0.0.1:${closed}/x`, '--port', '0'], /^flowgram: --db: cannot open PostgreSQL database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/x: .+\n$/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    for (const [index, [args, message]] of cases.entries()) {
      const result = results[index];
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);
});
