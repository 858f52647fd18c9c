/**
 * Engine benchmark: our engine and the upstream engine (@flowgram.ai/runtime-js), side by side in one
 * process, on the same workflows. Prints times, throughputs and the ratio ours/upstream for each.
 *
 *   npm run bench:engine     (node --expose-gc --import tsx bench/engine.bench.ts; `npm run bench` runs it too)
 *
 * Upstream logs every request with console.log; the console is silenced while it runs (that only makes
 * upstream faster). Upstream exposes no completion promise, so its runs are awaited by polling its
 * result API once per event-loop turn. All of ours runs first: upstream never frees a task, and its
 * growing heap would slow down (through GC) anything measured after it.
 */
import { performance } from 'node:perf_hooks';
import { createRuntime, type Runtime } from '../src/index.js';
import { silenceConsole, startUpstream, waitUpstream } from '../test/fixtures/upstream-engine.js';
import type { Schema } from '../test/fixtures/workflow-builders.js';
import { conditionChain, filterLoop, smallWorkflow } from './lib/workflows.js';

type Inputs = Record<string, unknown>;

interface Engine {
  name: string;
  /** Runs one workflow to its end. */
  run(schema: Schema, inputs: Inputs): Promise<void>;
}

function ourEngine(runtime: Runtime): Engine {
  return {
    name: 'ours',
    async run(schema, inputs) {
      const task = runtime.start(schema as unknown as Record<string, unknown>, inputs);
      await task.done;
      if (task.status !== 'succeeded') throw new Error(`ours: workflow ${task.status}: ${task.error?.message}`);
    },
  };
}

const upstreamEngine: Engine = {
  name: 'upstream',
  async run(schema, inputs) {
    // Upstream's API takes the schema as JSON text (and mutates the object it parses from it).
    const taskID = await startUpstream(JSON.stringify(schema), inputs);
    await waitUpstream(taskID, 120_000);
  },
};

const collectGarbage = (): void => (globalThis as { gc?: () => void }).gc?.();

/** Median wall time (ms) of `runs` runs after `warmup` runs. */
async function medianTime(engine: Engine, schema: Schema, inputs: Inputs, warmup: number, runs: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await engine.run(schema, inputs);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const begin = performance.now();
    await engine.run(schema, inputs);
    times.push(performance.now() - begin);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Workflows per second, `concurrency` at a time, over about `durationMs`. */
async function throughput(engine: Engine, schema: Schema, inputs: Inputs, concurrency: number, durationMs: number): Promise<number> {
  const batch = (): Promise<unknown> =>
    concurrency === 1 ? engine.run(schema, inputs) : Promise.all(Array.from({ length: concurrency }, () => engine.run(schema, inputs)));
  for (let i = 0; i < 20; i++) await batch(); // warm up
  let done = 0;
  const begin = performance.now();
  while (performance.now() - begin < durationMs) {
    await batch();
    done += concurrency;
  }
  return (done * 1000) / (performance.now() - begin);
}

/** Heap growth and heap used (MB) after `count` finished tasks, 100 at a time, with a full GC before and after. */
async function heapGrowth(engine: Engine, schema: Schema, inputs: Inputs, count: number): Promise<{ growth: number; used: number }> {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const concurrency = 100;
  for (let i = 0; i < count; i += concurrency) {
    await Promise.all(Array.from({ length: concurrency }, () => engine.run(schema, inputs)));
  }
  collectGarbage();
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  const after = process.memoryUsage().heapUsed;
  return { growth: (after - before) / (1024 * 1024), used: after / (1024 * 1024) };
}

interface Row {
  name: string;
  ours: number;
  upstream: number;
  unit: string;
  /** How many times better ours is (higher is better for throughputs, lower for times). */
  ratio: number;
}

const format = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(2));

function print(rows: Row[]): void {
  const lines = rows.map((row) =>
    [row.name.padEnd(34), `${format(row.ours)} ${row.unit}`.padStart(18), `${format(row.upstream)} ${row.unit}`.padStart(18), `${row.ratio.toFixed(1)}×`.padStart(9)].join(' '),
  );
  process.stdout.write([`${'benchmark'.padEnd(34)} ${'ours'.padStart(18)} ${'upstream'.padStart(18)} ${'ratio'.padStart(9)}`, ...lines].join('\n') + '\n');
}

interface Measurements {
  chainMs: number;
  loopMs: number;
  sequential: number;
  concurrent: number;
  heap: { growth: number; used: number };
}

/** Every benchmark on one engine; the heap figure last (it runs 20,000 more tasks). */
async function measure(engine: Engine): Promise<Measurements> {
  const chain = conditionChain(800);
  const loop = filterLoop();
  const small = smallWorkflow();
  const smallInputs = { name: 'ada', count: 42 };
  return {
    chainMs: await medianTime(engine, chain, { n: 1 }, 5, 15),
    loopMs: await medianTime(engine, loop, { items: Array.from({ length: 8_000 }, (_, i) => i) }, 3, 9),
    sequential: await throughput(engine, small, smallInputs, 1, 2_000),
    concurrent: await throughput(engine, small, smallInputs, 100, 2_000),
    heap: await heapGrowth(engine, small, smallInputs, HEAP_TASKS),
  };
}

const HEAP_TASKS = 20_000;

async function main(): Promise<void> {
  const restoreConsole = silenceConsole();
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  if (!(globalThis as { gc?: unknown }).gc) log('note: run with --expose-gc for exact heap figures (npm run bench:engine does)');
  const runtime = createRuntime();
  try {
    // Ours first, then upstream: upstream never frees a task, and the hundreds of MB it piles up would
    // slow down (through GC) whatever runs after it in this process.
    const ours = await measure(ourEngine(runtime));
    const retained = runtime.stats().inMemory;
    const upstream = await measure(upstreamEngine);
    const rows: Row[] = [
      { name: 'chain of 800 conditions', ours: ours.chainMs, upstream: upstream.chainMs, unit: 'ms', ratio: upstream.chainMs / ours.chainMs },
      { name: 'loop over 8,000 items (3 nodes each)', ours: ours.loopMs, upstream: upstream.loopMs, unit: 'ms', ratio: upstream.loopMs / ours.loopMs },
      { name: '5-node workflows, sequential', ours: ours.sequential, upstream: upstream.sequential, unit: 'wf/s', ratio: ours.sequential / upstream.sequential },
      { name: '5-node workflows, 100 concurrent', ours: ours.concurrent, upstream: upstream.concurrent, unit: 'wf/s', ratio: ours.concurrent / upstream.concurrent },
    ];
    print(rows);
    log(`heap after ${HEAP_TASKS} more finished tasks: ours ${ours.heap.used.toFixed(1)} MB (grew ${ours.heap.growth.toFixed(1)} MB; retention holds ${retained} tasks)`);
    log(`heap after ${HEAP_TASKS} more finished tasks: upstream ${upstream.heap.used.toFixed(1)} MB (grew ${upstream.heap.growth.toFixed(1)} MB; it keeps every task)`);
    const slow = rows.filter((row) => row.ratio < 10);
    log(slow.length === 0 ? 'goal met: ≥10× upstream on every benchmark' : `goal NOT met on: ${slow.map((row) => row.name).join(', ')}`);
  } finally {
    restoreConsole();
    await runtime.close();
  }
}

await main();
