/**
 * Scale-out benchmark: tasks/s and p50/p99 end-to-end latency through `flowgram serve --queue` with
 * 1, 2 and 3 `flowgram worker` processes, next to `flowgram serve` running tasks in-process on the
 * same PostgreSQL store, in the same run. Redis and PostgreSQL are private instances on free ports.
 *
 *   npm run bench:cluster      (tsx bench/cluster.bench.ts [--tasks 2000] [--clients 32])
 *
 * A round trip is POST /api/task/run, then GET /api/task/result?wait=… until the outputs arrive; its
 * latency is measured once with one client at a time (the queue hop, unloaded) and once under load
 * with `--clients` concurrent clients (throughput). Needs `npm run build` first (bin/ runs dist/).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Fleet, call, type ApiServer } from '../test/helpers/cluster-fleet.js';

function numberArg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const TASKS = numberArg('tasks', 2_000);
const CLIENTS = numberArg('clients', 32);
const UNLOADED = 200;

const meta = { position: { x: 0, y: 0 } };
const numberSchema = { type: 'object', properties: { n: { type: 'number' } } };
const schema = JSON.stringify({
  nodes: [
    { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: numberSchema } },
    { id: 'end_0', type: 'end', meta, data: { title: 'End', inputs: numberSchema, inputsValues: { n: { type: 'ref', content: ['start_0', 'n'] } } } },
  ],
  edges: [{ sourceNodeID: 'start_0', targetNodeID: 'end_0' }],
});

async function roundTrip(server: ApiServer, n: number): Promise<number> {
  const started = performance.now();
  const { body } = await call<{ taskID: string }>(server.url, 'POST', '/api/task/run', { schema, inputs: { n } });
  const result = await call<{ n: number }>(server.url, 'GET', `/api/task/result?taskID=${body.taskID}&wait=30000`);
  if (result.body.n !== n) throw new Error(`task ${body.taskID}: expected n=${n}, got ${JSON.stringify(result.body)}`);
  return performance.now() - started;
}

interface Measure {
  rate: number;
  p50: number;
  p99: number;
  unloadedP50: number;
  unloadedP99: number;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

async function measure(server: ApiServer): Promise<Measure> {
  for (let i = 0; i < 50; i++) await roundTrip(server, i); // warm-up: JIT, connections, schema caches
  const unloaded: number[] = [];
  for (let i = 0; i < UNLOADED; i++) unloaded.push(await roundTrip(server, i));
  const loaded: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < TASKS) loaded.push(await roundTrip(server, next++));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  unloaded.sort((a, b) => a - b);
  loaded.sort((a, b) => a - b);
  return {
    rate: TASKS / seconds,
    p50: percentile(loaded, 50),
    p99: percentile(loaded, 99),
    unloadedP50: percentile(unloaded, 50),
    unloadedP99: percentile(unloaded, 99),
  };
}

function row(label: string, m: Measure): string {
  const f = (value: number): string => value.toFixed(1).padStart(8);
  return `${label.padEnd(26)}${m.rate.toFixed(0).padStart(8)}${f(m.unloadedP50)}${f(m.unloadedP99)}${f(m.p50)}${f(m.p99)}`;
}

async function main(): Promise<void> {
  console.log(`cluster benchmark: ${TASKS} tasks, ${CLIENTS} clients; ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(2)}`);
  const fleet = await Fleet.start();
  try {
    const results: Array<[string, Measure]> = [];
    const local = await fleet.startServer(false);
    results.push(['in-process (serve)', await measure(local)]);
    await local.stop();

    const server = await fleet.startServer(true);
    for (let workers = 1; workers <= 3; workers++) {
      await fleet.startWorker(8, 30_000);
      results.push([`queue, ${workers} worker${workers > 1 ? 's' : ''}`, await measure(server)]);
    }

    console.log(`\n${'mode'.padEnd(26)}${'tasks/s'.padStart(8)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'p50@load'.padStart(8)}${'p99@load'.padStart(8)}   (ms)`);
    for (const [label, m] of results) console.log(row(label, m));
    const hop = results[1][1].unloadedP50 - results[0][1].unloadedP50;
    console.log(`\nqueue hop (p50, one client, 1 worker vs in-process): ${hop.toFixed(1)} ms`);
    console.log(
      `load average now ${loadavg()[0].toFixed(2)} on ${cpus().length} CPUs. Every process here (API server, workers, Redis,\n` +
        'PostgreSQL, this client) shares these cores, so adding workers cannot add throughput once they are busy:\n' +
        'a tiny task costs more in the server, Redis and PostgreSQL than in the worker. With a core per worker,\n' +
        'more API servers behind a balancer and PostgreSQL on its own machine, throughput grows with the workers\n' +
        'until Redis (one thread) or PostgreSQL commits become the limit.',
    );
  } finally {
    await fleet.stop();
  }
}

await main();
