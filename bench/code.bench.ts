/**
 * Code node benchmark: our sandbox (QuickJS in worker threads, every execution starting from a fresh
 * context restored from a memory snapshot) side by side with upstream 1.0.9's code node (QuickJS on the main thread), same process.
 *
 *   npm run bench:code        (npx tsx bench/code.bench.ts)
 *
 * Prints: per-code-node cost in a 40-code-node chain (p50/p99, ours with 1 and 2 workers and upstream,
 * and the ratio); the raw per-execution latency of our runner including the hop to the worker; the
 * pool's start-up cost (from sources and, when built, from dist/); and throughput of concurrent tasks
 * for 1, 2 and 4 workers. Upstream's `main` is async because upstream fails every sync main. Upstream
 * logs every request: the console is silenced while it runs.
 *
 * A sequential chain runs one script at a time, so each node costs one hop to a worker and back, the
 * script, and restoring the snapshot (a few µs) while the host handles the result.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createRuntime } from '../src/index.js';
import { DEFAULT_CODE_LIMITS } from '../src/sandbox/limits.js';
import { createQuickJSRunner } from '../src/sandbox/quickjs-runner.js';
import type { ScriptRunner } from '../src/sandbox/types.js';
import { silenceConsole, startUpstream, waitUpstream } from '../test/fixtures/upstream-engine.js';

const CHAIN_LENGTH = 40;
const SCRIPT = 'async function main({ params }) { return { value: params.value + 1 } }';

type Schema = Record<string, unknown>;

/** start → code_1 → … → code_40 → end; each code node adds one to the previous node's value. */
function codeChain(length: number): Schema {
  const nodes: unknown[] = [
    { id: 'start_0', type: 'start', meta: { position: { x: 0, y: 0 } }, data: { title: 'Start', outputs: { type: 'object', properties: { value: { type: 'number' } } } } },
  ];
  const edges: unknown[] = [];
  let previous = 'start_0';
  for (let i = 1; i <= length; i++) {
    const id = `code_${i}`;
    nodes.push({
      id,
      type: 'code',
      meta: { position: { x: i, y: 0 } },
      data: {
        title: `Code ${i}`,
        inputs: { type: 'object', properties: { value: { type: 'number' } } },
        inputsValues: { value: { type: 'ref', content: [previous, 'value'] } },
        outputs: { type: 'object', properties: { value: { type: 'number' } } },
        script: { language: 'javascript', content: SCRIPT },
      },
    });
    edges.push({ sourceNodeID: previous, targetNodeID: id });
    previous = id;
  }
  nodes.push({
    id: 'end_0',
    type: 'end',
    meta: { position: { x: length + 1, y: 0 } },
    data: { title: 'End', inputs: { type: 'object', properties: { value: { type: 'number' } } }, inputsValues: { value: { type: 'ref', content: [previous, 'value'] } } },
  });
  edges.push({ sourceNodeID: previous, targetNodeID: 'end_0' });
  return { nodes, edges };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function summary(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

const fmt = (ms: number): string => `${ms.toFixed(3)} ms`;

/** Per-code-node time of each run of the chain (ms), after warm-up runs. */
async function chainSamples(run: () => Promise<void>, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await run();
    samples.push((performance.now() - started) / CHAIN_LENGTH);
  }
  return samples;
}

async function oursChain(schema: Schema, workers: number): Promise<number[]> {
  const runtime = createRuntime({ limits: { code: { workers } } });
  try {
    return await chainSamples(
      async () => {
        const outputs = await runtime.run(schema, { value: 0 });
        if (outputs.value !== CHAIN_LENGTH) throw new Error(`ours: wrong result ${JSON.stringify(outputs)}`);
      },
      30,
      200,
    );
  } finally {
    await runtime.close();
  }
}

async function benchChain(): Promise<void> {
  const schema = codeChain(CHAIN_LENGTH);
  const ours = await oursChain(schema, 2);
  const oursOne = await oursChain(schema, 1);

  const text = JSON.stringify(schema);
  const restore = silenceConsole();
  let upstream: number[];
  try {
    upstream = await chainSamples(
      async () => {
        await waitUpstream(await startUpstream(text, { value: 0 }), 60_000);
      },
      10,
      60,
    );
  } finally {
    restore();
  }
  const o = summary(ours);
  const one = summary(oursOne);
  const u = summary(upstream);
  console.log(`\n${CHAIN_LENGTH}-code-node chain, time per code node (whole workflow / ${CHAIN_LENGTH}):`);
  console.log(`  ours      p50 ${fmt(o.p50)}   p99 ${fmt(o.p99)}   (2 workers, sequential chain)`);
  console.log(`  ours      p50 ${fmt(one.p50)}   p99 ${fmt(one.p99)}   (1 worker)`);
  console.log(`  upstream  p50 ${fmt(u.p50)}   p99 ${fmt(u.p99)}   (main thread)`);
  console.log(`  upstream / ours at p50: ${(u.p50 / o.p50).toFixed(2)}x`);
}

/** Time until a new pool of `workers` workers has every worker ready (ms). */
async function startupTime(create: (workers: number) => ScriptRunner, workers: number): Promise<number> {
  const started = performance.now();
  const runner = create(workers);
  await runner.warm?.();
  const elapsed = performance.now() - started;
  await runner.close();
  return elapsed;
}

async function benchStartup(): Promise<void> {
  console.log('\nPool start-up (worker threads + QuickJS WebAssembly instances, until all are ready):');
  const fromSources = (workers: number): ScriptRunner => createQuickJSRunner({ workers });
  for (const workers of [1, 2]) console.log(`  ${workers} worker(s), TypeScript sources via tsx: ${fmt(await startupTime(fromSources, workers))}`);
  // The built package's workers load compiled JavaScript: what users of dist/ pay.
  const built = new URL('../dist/sandbox/quickjs-runner.js', import.meta.url);
  const builtWasm = new URL('../dist/sandbox/quickjs-wasm.js', import.meta.url);
  if (existsSync(built) && existsSync(builtWasm)) {
    // QuickJS is compiled once per process and shared by every pool (the sections above compiled the
    // sources' copy already); dist/ has its own copy of the module, timed apart from the pools.
    const wasm = (await import(builtWasm.href)) as { compiledQuickJS: () => Promise<unknown> };
    const started = performance.now();
    await wasm.compiledQuickJS();
    console.log(`  compiling QuickJS (once per process): ${fmt(performance.now() - started)}`);
    const module = (await import(built.href)) as { createQuickJSRunner: typeof createQuickJSRunner };
    const fromDist = (workers: number): ScriptRunner => module.createQuickJSRunner({ workers });
    for (const workers of [1, 2]) console.log(`  ${workers} worker(s), built dist/: ${fmt(await startupTime(fromDist, workers))}`);
  }
}

async function benchRunner(): Promise<void> {
  const request = { language: 'javascript', source: SCRIPT, params: { value: 1 }, limits: DEFAULT_CODE_LIMITS };
  const signal = new AbortController().signal;
  const runner = createQuickJSRunner({ workers: 2 });
  await runner.warm?.();
  for (let i = 0; i < 500; i++) await runner.run(request, signal);
  const samples: number[] = [];
  for (let i = 0; i < 3_000; i++) {
    const started = performance.now();
    await runner.run(request, signal);
    samples.push(performance.now() - started);
  }
  await runner.close();
  const s = summary(samples);
  console.log('\nOne execution through the runner, sequential (fresh context from the snapshot, hop to the worker and back):');
  console.log(`  p50 ${fmt(s.p50)}   p99 ${fmt(s.p99)}`);
}

async function benchThroughput(): Promise<void> {
  const schema = codeChain(4);
  console.log('\nThroughput: 64 concurrent tasks of 4 code nodes each:');
  for (const workers of [1, 2, 4]) {
    const runtime = createRuntime({ limits: { code: { workers } } });
    const batch = (): Promise<unknown> => Promise.all(Array.from({ length: 64 }, () => runtime.run(schema, { value: 0 })));
    await batch();
    await batch();
    const started = performance.now();
    const rounds = 10;
    for (let i = 0; i < rounds; i++) await batch();
    const seconds = (performance.now() - started) / 1000;
    console.log(`  ${workers} worker(s): ${Math.round((rounds * 64 * 4) / seconds)} code executions/s`);
    await runtime.close();
  }
}

console.log(`load average: ${loadavg().map((value) => value.toFixed(2)).join(' ')} on ${availableParallelism()} CPUs`);
await benchChain();
await benchRunner();
await benchStartup();
await benchThroughput();
