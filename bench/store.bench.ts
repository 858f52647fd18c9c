/**
 * What the SQLite store costs: 100,000 small workflows through the runtime without a store and with
 * one, tasks/s for each, and RSS/heap after 10k, 50k and 100k tasks with the store.
 * Goal: the store costs ≤ 25 % of throughput; heap stays flat (±20 MB) from 10k to 100k tasks.
 *
 *   npm run bench:store                     (node --expose-gc --import tsx bench/store.bench.ts)
 *   TASKS=20000 WAVE=500 npm run bench:store
 *
 * Tasks start in waves of WAVE (default 500) and each wave is awaited, like an SDK caller running a
 * batch with `Promise.all`. Rounds alternate (without, with, without, with) on this shared machine;
 * the best round of each kind is compared.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { createSqliteStore } from '../src/store/sqlite.js';

const TOTAL = Number(process.env.TASKS ?? 100_000);
const WAVE = Number(process.env.WAVE ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CHECKPOINTS = [10_000, 50_000, 100_000].filter((n) => n <= TOTAL);

/** start → end: the end node outputs the start node's `text` and `n`. */
const schema = {
  nodes: [
    {
      id: 'start_0',
      type: 'start',
      meta: { position: { x: 0, y: 0 } },
      data: { title: 'Start', outputs: { type: 'object', properties: { text: { type: 'string' }, n: { type: 'integer' } } } },
    },
    {
      id: 'end_0',
      type: 'end',
      meta: { position: { x: 400, y: 0 } },
      data: {
        title: 'End',
        inputs: { type: 'object', properties: { text: { type: 'string' }, n: { type: 'integer' } } },
        inputsValues: { text: { type: 'ref', content: ['start_0', 'text'] }, n: { type: 'ref', content: ['start_0', 'n'] } },
      },
    },
  ],
  edges: [{ sourceNodeID: 'start_0', targetNodeID: 'end_0' }],
};

interface Sample {
  tasks: number;
  rssMB: number;
  heapMB: number;
}

function memory(tasks: number): Sample {
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { tasks, rssMB: Math.round(rss / 2 ** 20), heapMB: Math.round((heapUsed / 2 ** 20) * 10) / 10 };
}

interface Rate {
  /** Wall clock. */
  tasksPerSecond: number;
  /** CPU time of this process (all threads) per task: steadier than wall time on a shared machine. */
  cpuMicrosPerTask: number;
}

async function drive(runtime: Runtime, total: number, samples?: Sample[]): Promise<Rate> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let gcMicros = 0;
  for (let done = 0; done < total; ) {
    const wave: Array<Promise<void>> = [];
    for (let i = 0; i < WAVE && done + i < total; i++) wave.push(runtime.start(schema, { text: `task ${done + i}`, n: done + i }).done);
    await Promise.all(wave);
    done += wave.length;
    if (samples && CHECKPOINTS.includes(done)) {
      // Pending writes count as part of the run: flush them (listTasks does) before sampling.
      await runtime.listTasks({ limit: 1 });
      const before = performance.now();
      samples.push(memory(done));
      gcMicros += (performance.now() - before) * 1000; // the forced GC is the bench's, not the store's
    }
  }
  await runtime.listTasks({ limit: 1 });
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - started - gcMicros / 1000;
  return { tasksPerSecond: (total / wallMs) * 1000, cpuMicrosPerTask: (used.user + used.system - gcMicros) / total };
}

async function roundWithout(): Promise<Rate> {
  const runtime = createRuntime();
  const rate = await drive(runtime, TOTAL);
  await runtime.close();
  return rate;
}

async function roundWith(dir: string, round: number, samples: Sample[]): Promise<{ rate: Rate; dbMB: number }> {
  const path = join(dir, `bench-${round}.db`);
  const runtime = createRuntime({ store: createSqliteStore({ path, retention: { maxTasks: TOTAL } }) });
  const rate = await drive(runtime, TOTAL, samples);
  await runtime.close();
  const dbMB = Math.round(statSync(path).size / 2 ** 20);
  return { rate, dbMB };
}

function format(rate: Rate): string {
  return `${Math.round(rate.tasksPerSecond)} tasks/s (${rate.cpuMicrosPerTask.toFixed(1)} µs CPU/task)`;
}

async function main(): Promise<void> {
  if (!globalThis.gc) console.warn('run with --expose-gc for stable heap numbers');
  const dir = mkdtempSync(join(tmpdir(), 'flowgram-store-bench-'));
  try {
    await drive(createRuntime(), Math.min(TOTAL, 10_000)); // warm up the JIT
    const without: Rate[] = [];
    const withStore: Rate[] = [];
    let lastSamples: Sample[] = [];
    let dbMB = 0;
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await roundWithout());
      const samples: Sample[] = [];
      const result = await roundWith(dir, round, samples);
      withStore.push(result.rate);
      lastSamples = samples;
      dbMB = result.dbMB;
      console.log(`round ${round + 1}: without store ${format(without[round])}; with SQLite store ${format(result.rate)}`);
    }
    const best = Math.max(...without.map((rate) => rate.tasksPerSecond));
    const bestWith = Math.max(...withStore.map((rate) => rate.tasksPerSecond));
    const cpu = Math.min(...without.map((rate) => rate.cpuMicrosPerTask));
    const cpuWith = Math.min(...withStore.map((rate) => rate.cpuMicrosPerTask));
    console.log(`\n${TOTAL} tasks, waves of ${WAVE}, best of ${ROUNDS} rounds`);
    console.log(`  without store: ${Math.round(best)} tasks/s, ${cpu.toFixed(1)} µs CPU/task`);
    console.log(`  with SQLite:   ${Math.round(bestWith)} tasks/s, ${cpuWith.toFixed(1)} µs CPU/task`);
    console.log(`  store cost: ${((1 - bestWith / best) * 100).toFixed(1)} % of wall-clock throughput, ${((1 - cpu / cpuWith) * 100).toFixed(1)} % by CPU time (goal ≤ 25 %)`);
    console.log(`  database file: ${dbMB} MB`);
    console.log('  memory with the store (last round, after GC):');
    for (const sample of lastSamples) console.log(`    ${String(sample.tasks).padStart(7)} tasks: RSS ${sample.rssMB} MB, heap ${sample.heapMB} MB`);
    if (lastSamples.length >= 2) {
      const drift = lastSamples[lastSamples.length - 1].heapMB - lastSamples[0].heapMB;
      console.log(`  heap from ${lastSamples[0].tasks} to ${lastSamples[lastSamples.length - 1].tasks} tasks: ${drift >= 0 ? '+' : ''}${drift.toFixed(1)} MB (goal ±20 MB)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
