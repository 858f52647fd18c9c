/**
 * Server benchmark: run+result round trips per second over loopback, measured with autocannon (as a
 * library) at 50 connections on a small workflow, next to the SDK's own in-process rate on the same
 * workflow in the same run. Prints the ratio and p50/p99 latencies (per request and per round trip).
 *
 *   npm run bench:server     (tsx bench/server.bench.ts [--seconds 10])
 *
 * The server runs in a child process (this same file with `--serve`), so autocannon and the server do
 * not share an event loop. Each autocannon connection loops: POST /api/task/run, then
 * GET /api/task/result?taskID=…&wait=5000 (the long-poll makes a not-yet-ended task wait rather than
 * answer 409, so every round trip ends with the outputs).
 *
 * Then the event loop under attack (issue #13): p50/p99 of GET /api/info, one request at a time, while
 * the server runs 1000 × 1000 nested loops of synchronous nodes (each replaced as soon as it ends), next to
 * the same figures on the idle server. `--info-only` runs just this part.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { createRuntime, createServer } from '../src/index.js';
import { nestedLoop } from '../test/fixtures/workflow-builders.js';
import { smallWorkflow } from './lib/workflows.js';

const CONNECTIONS = 50;
const schema = smallWorkflow();
const inputs = { name: 'ada', count: 42 };

function secondsArg(): number {
  const index = process.argv.indexOf('--seconds');
  const value = index >= 0 ? Number(process.argv[index + 1]) : 10;
  return Number.isFinite(value) && value > 0 ? value : 10;
}

/** The child: a server on a free port; prints its URL, stops on SIGTERM. */
async function serve(): Promise<void> {
  const server = await createServer({ logger: false, apiToken: null });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

/**
 * The transport's ceiling: a bare Fastify server (no runtime) answering the same two routes with
 * constant bodies. No server built on Fastify can beat this on the same machine.
 */
async function serveEmpty(): Promise<void> {
  const app = Fastify({ logger: false });
  app.post('/api/task/run', async () => ({ taskID: '01936f6a-0000-7000-8000-000000000000' }));
  app.get('/api/task/result', async () => ({ status: 'succeeded', outputs: { greeting: 'hello ada', count: 42 } }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

/** In-process rate: 50 concurrent callers of runtime.run() for `seconds`. */
async function sdkRate(seconds: number): Promise<number> {
  const runtime = createRuntime();
  const run = () => runtime.run(schema as unknown as Record<string, unknown>, inputs);
  for (let i = 0; i < 2_000; i++) await run();
  let completed = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        await run();
        completed++;
      }
    }),
  );
  const rate = completed / ((performance.now() - started) / 1000);
  await runtime.close();
  return rate;
}

function startChild(mode: '--serve' | '--serve-empty'): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`server exited early with code ${code}`)));
  });
}

interface RoundTripContext {
  taskID?: string;
  sentAt?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function serverRate(url: string, seconds: number): Promise<{ rate: number; result: autocannon.Result; roundTrip: { p50: number; p99: number }; failures: number }> {
  const roundTrips: number[] = [];
  let failures = 0;
  const body = JSON.stringify({ schema: JSON.stringify(schema), inputs });
  const requests: autocannon.Request[] = [
    {
      method: 'POST',
      path: '/api/task/run',
      headers: { 'content-type': 'application/json' },
      body,
      setupRequest(request, context) {
        (context as RoundTripContext).sentAt = performance.now();
        return request;
      },
      onResponse(status, responseBody, context) {
        if (status === 200) (context as RoundTripContext).taskID = (JSON.parse(responseBody) as { taskID: string }).taskID;
        else failures++;
      },
    },
    {
      method: 'GET',
      setupRequest(request, context) {
        return { ...request, path: `/api/task/result?taskID=${(context as RoundTripContext).taskID}&wait=5000` };
      },
      onResponse(status, _body, context) {
        if (status !== 200) failures++;
        else roundTrips.push(performance.now() - ((context as RoundTripContext).sentAt ?? 0));
      },
    },
  ];
  // Warm up the server (JIT, schema cache) before measuring.
  await autocannon({ url, connections: CONNECTIONS, duration: 2, requests });
  roundTrips.length = 0;
  failures = 0;
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, requests });
  roundTrips.sort((a, b) => a - b);
  return {
    rate: roundTrips.length / seconds,
    result,
    roundTrip: { p50: percentile(roundTrips, 50), p99: percentile(roundTrips, 99) },
    failures,
  };
}

interface InfoLatency {
  p50: number;
  p99: number;
  max: number;
  count: number;
  /** Nested-loop tasks that ended during the measurement. */
  tasks: number;
}

/** GET /api/info latency, one request at a time, for `seconds`, while `busy` nested-loop tasks keep the engine busy. */
async function infoLatency(url: string, seconds: number, busy: number): Promise<InfoLatency> {
  const body = JSON.stringify({ schema: JSON.stringify(nestedLoop()), inputs: { items: Array.from({ length: 1_000 }, (_, i) => i) } });
  const deadline = performance.now() + seconds * 1000;
  let tasks = 0;
  const drivers = Array.from({ length: busy }, async () => {
    while (performance.now() < deadline) {
      const run = await fetch(`${url}/api/task/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const { taskID } = (await run.json()) as { taskID: string };
      await (await fetch(`${url}/api/task/result?taskID=${taskID}&wait=60000`)).text();
      tasks++;
    }
  });
  // Let the first tasks get going before measuring.
  if (busy > 0) await new Promise((resolve) => setTimeout(resolve, 200));
  const latencies: number[] = [];
  while (performance.now() < deadline) {
    const sent = performance.now();
    await (await fetch(`${url}/api/info`)).text();
    latencies.push(performance.now() - sent);
  }
  await Promise.all(drivers);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? Number.NaN, count: latencies.length, tasks };
}

async function eventLoopUnderAttack(seconds: number): Promise<void> {
  const { child, url } = await startChild('--serve');
  try {
    const idle = await infoLatency(url, Math.min(seconds, 5), 0);
    const format = (figures: InfoLatency): string =>
      `p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, max ${figures.max.toFixed(1)} ms (${figures.count} requests)`;
    console.log(`GET /api/info idle                         ${format(idle)}`);
    for (const busy of [1, 4]) {
      const loaded = await infoLatency(url, seconds, busy);
      console.log(`GET /api/info, ${busy} nested loop(s) running     ${format(loaded)}; ${loaded.tasks} tasks of 1,000,000 nodes ended`);
      console.log(`  goal p99 < 50 ms: ${loaded.p99 < 50 ? 'met' : 'NOT met'}`);
    }
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const seconds = secondsArg();
  if (process.argv.includes('--info-only')) {
    console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((value) => value.toFixed(1)).join(' ')}`);
    await eventLoopUnderAttack(seconds);
    return;
  }
  console.log(`server benchmark: small workflow (start → 3 conditions → end), ${CONNECTIONS} connections, ${seconds} s per measurement`);
  // Client, server and SDK share the machine: its load says how far the numbers can be trusted.
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((value) => value.toFixed(1)).join(' ')}`);

  // The SDK is measured before and after the server, and averaged, so a change in the machine's load
  // during the run skews the ratio less.
  const sdkBefore = await sdkRate(seconds);
  const empty = await startChild('--serve-empty');
  let ceiling: number;
  try {
    ceiling = (await serverRate(empty.url, seconds)).rate;
  } finally {
    empty.child.kill('SIGTERM');
  }
  const { child, url } = await startChild('--serve');
  try {
    const { rate, result, roundTrip, failures } = await serverRate(url, seconds);
    child.kill('SIGTERM');
    const sdkAfter = await sdkRate(seconds);
    const sdk = (sdkBefore + sdkAfter) / 2;
    const ratio = rate / sdk;
    console.log(`SDK in-process      ${sdk.toFixed(0).padStart(8)} runs/s  (before ${sdkBefore.toFixed(0)}, after ${sdkAfter.toFixed(0)})`);
    console.log(`server round trips  ${rate.toFixed(0).padStart(8)} run+result/s  (${result.requests.average.toFixed(0)} requests/s)`);
    console.log(`ratio server/SDK    ${(ratio * 100).toFixed(1).padStart(7)} %`);
    console.log(`bare Fastify        ${ceiling.toFixed(0).padStart(8)} round trips/s with constant answers (${((ceiling / sdk) * 100).toFixed(1)} % of SDK): the transport's ceiling`);
    console.log(`server / bare       ${((rate / ceiling) * 100).toFixed(1).padStart(7)} % of the ceiling`);
    console.log(`latency per request p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`);
    console.log(`latency round trip  p50 ${roundTrip.p50.toFixed(2)} ms, p99 ${roundTrip.p99.toFixed(2)} ms`);
    console.log(`non-2xx / errors    ${result.non2xx} / ${result.errors} (failed round trips: ${failures})`);
    console.log(`goal ≥50 % of SDK:  ${ratio >= 0.5 ? 'met' : 'NOT met'};  goal ≥5,000 round trips/s: ${rate >= 5_000 ? 'met' : 'NOT met'}`);
  } finally {
    child.kill('SIGTERM');
  }
  await eventLoopUnderAttack(seconds);
}

if (process.argv.includes('--serve-empty')) await serveEmpty();
else if (process.argv.includes('--serve')) await serve();
else await main();
