/**
 * Code node benchmark: our sandbox (every execution starting from a fresh QuickJS context restored from
 * a memory snapshot; tried first on the main thread in the polling build under a 1 ms budget, then on
 * worker threads with the full limits, jobs handed over through a shared-memory slot) side by side
 * with upstream 1.0.9's code node (QuickJS on the main thread), same process.
 *
 *   npm run bench:code        (node --expose-gc --import tsx bench/code.bench.ts)
 *
 * Prints: per-code-node cost in a 40-code-node chain and in a loop over 1,000 items with one code node
 * in its body (p50/p99, ours and upstream, and the ratio); the raw per-execution latency of our runner;
 * the pool's start-up cost (from sources and, when built, from dist/); throughput of 64 concurrent tasks
 * of 4 code nodes for 1, 2 and 4 workers; and how long the event loop was held (monitorEventLoopDelay)
 * during the chain and while the abuse set runs; and Python code nodes' warm per-node cost in the same
 * chain and loop (no upstream counterpart). Upstream's `main` is async because upstream fails
 * every sync main. Upstream logs every request: the console is silenced while it runs.
 *
 * A short script never leaves the main thread (see src/sandbox/quickjs-inline.ts): each node costs
 * the script and the restore of the snapshot. A script that overruns the budget goes to a worker: the
 * host writes the job into the worker's slot and waits for the answer without blocking (only a script
 * never tried inline, e.g. TypeScript, is waited for synchronously, at most 1 ms within the time slice).
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { createRuntime, type Runtime } from '../src/index.js';
import type { CodeExecutor } from '../src/nodes/code.js';
import { DEFAULT_CODE_LIMITS } from '../src/sandbox/limits.js';
import { createQuickJSRunner } from '../src/sandbox/quickjs-runner.js';
import type { ScriptRunner } from '../src/sandbox/types.js';
import { ABUSE_SCRIPTS, ABUSE_TIMEOUT_MS } from '../test/fixtures/code-abuse.js';
import { silenceConsole, startUpstream, waitUpstream } from '../test/fixtures/upstream-engine.js';
import { codeWorkflow } from '../test/helpers/code-workflow.js';
import type { Schema } from '../test/fixtures/workflow-builders.js';
import { codeChain, codeLoop } from './lib/workflows.js';

const CHAIN_LENGTH = 40;
const SCRIPT = 'async function main({ params }) { return { value: params.value + 1 } }';


const LOOP_ITEMS = 1_000;
const LOOP_SCRIPT = 'async function main({ params }) { return { value: params.value * 2 } }';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function summary(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

const fmt = (ms: number): string => `${ms.toFixed(3)} ms`;

/** A full collection (node --expose-gc, as `npm run bench:code` runs it); nothing without the flag. */
const collectGarbage = (): void => (globalThis as { gc?: () => void }).gc?.();

/** Per-code-node time of each run (ms), after warm-up runs. */
async function perNodeSamples(run: () => Promise<void>, nodes: number, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await run();
    samples.push((performance.now() - started) / nodes);
  }
  return samples;
}

/** perf_hooks' GC kinds (constants.NODE_PERFORMANCE_GC_*). */
const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental marking', 8: 'weak callbacks' };

/**
 * The longest the event loop was held while `work` ran (ms), measured with monitorEventLoopDelay, and
 * the longest garbage collection pause meanwhile (part of what holds it, not ours to schedule).
 */
async function heldEventLoop<T>(work: () => Promise<T>): Promise<{ result: T; maxMs: number; p99Ms: number; gcMs: number; gcKind: string }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let gcMs = 0;
  let gcKind = 'none';
  const longest = (entries: readonly PerformanceEntry[]): void => {
    for (const entry of entries) {
      if (entry.duration <= gcMs) continue;
      gcMs = entry.duration;
      gcKind = GC_KINDS[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
    }
  };
  const gc = new PerformanceObserver((entries) => longest(entries.getEntries()));
  gc.observe({ entryTypes: ['gc'] });
  delay.enable();
  try {
    const result = await work();
    longest(gc.takeRecords());
    return { result, maxMs: delay.max / 1e6, p99Ms: delay.percentile(99) / 1e6, gcMs, gcKind };
  } finally {
    delay.disable();
    gc.disconnect();
  }
}

interface Workload {
  title: string;
  schema: Schema;
  inputs: Record<string, unknown>;
  /** Code node executions per run. */
  nodes: number;
  check(outputs: Record<string, unknown>): boolean;
  runs: { ours: number; upstream: number };
}

async function oursSamples(workload: Workload, workers: number): Promise<{ samples: number[]; maxMs: number; p99Ms: number }> {
  const runtime = createRuntime({ limits: { code: { workers } } });
  try {
    // Workers and the main thread's sandbox started first, as a server does at start-up.
    await (runtime.executors.get('code') as CodeExecutor).warm(runtime.limits.code, ['javascript']);
    const run = async (): Promise<void> => {
      const outputs = await runtime.run(workload.schema, workload.inputs);
      if (!workload.check(outputs)) throw new Error(`ours: wrong result ${JSON.stringify(outputs).slice(0, 200)}`);
    };
    await perNodeSamples(run, workload.nodes, Math.ceil(workload.runs.ours / 5), 0);
    const { result, maxMs, p99Ms } = await heldEventLoop(() => perNodeSamples(run, workload.nodes, 0, workload.runs.ours));
    return { samples: result, maxMs, p99Ms };
  } finally {
    await runtime.close();
  }
}

async function benchWorkload(workload: Workload): Promise<void> {
  const ours = await oursSamples(workload, 2);
  const oursOne = await oursSamples(workload, 1);
  const text = JSON.stringify(workload.schema);
  const restore = silenceConsole();
  let upstream: number[];
  try {
    upstream = await perNodeSamples(
      async () => {
        await waitUpstream(await startUpstream(text, workload.inputs), 120_000);
      },
      workload.nodes,
      Math.ceil(workload.runs.upstream / 5),
      workload.runs.upstream,
    );
  } finally {
    restore();
  }
  const o = summary(ours.samples);
  const one = summary(oursOne.samples);
  const u = summary(upstream);
  console.log(`\n${workload.title}, time per code node (whole workflow / ${workload.nodes}):`);
  console.log(`  ours      p50 ${fmt(o.p50)}   p99 ${fmt(o.p99)}   (2 workers; event loop held at most ${fmt(ours.maxMs)}, p99 ${fmt(ours.p99Ms)})`);
  console.log(`  ours      p50 ${fmt(one.p50)}   p99 ${fmt(one.p99)}   (1 worker; event loop held at most ${fmt(oursOne.maxMs)})`);
  console.log(`  upstream  p50 ${fmt(u.p50)}   p99 ${fmt(u.p99)}   (main thread)`);
  console.log(`  upstream / ours at p50: ${(u.p50 / o.p50).toFixed(2)}x`);
}

async function benchChain(): Promise<void> {
  await benchWorkload({
    title: `${CHAIN_LENGTH}-code-node chain`,
    schema: codeChain(CHAIN_LENGTH, SCRIPT),
    inputs: { value: 0 },
    nodes: CHAIN_LENGTH,
    check: (outputs) => outputs.value === CHAIN_LENGTH,
    runs: { ours: 200, upstream: 60 },
  });
}

async function benchLoop(): Promise<void> {
  const items = Array.from({ length: LOOP_ITEMS }, (_, i) => i);
  await benchWorkload({
    title: `Loop over ${LOOP_ITEMS} items, one code node in its body`,
    schema: codeLoop(LOOP_SCRIPT),
    inputs: { items },
    nodes: LOOP_ITEMS,
    check: (outputs) => Array.isArray(outputs.values) && outputs.values.length === LOOP_ITEMS && outputs.values[LOOP_ITEMS - 1] === 2 * (LOOP_ITEMS - 1),
    runs: { ours: 20, upstream: 5 },
  });
}

/**
 * The abuse set (spinners, regex backtracking, huge sorts/joins, repeat bombs, deep recursion, promise
 * storms, memory bombs): all at once, then one by one, with a short script in between; each must end in
 * its limit while the event loop stays free.
 */
async function benchAbuse(): Promise<void> {
  const runtime: Runtime = createRuntime({ limits: { code: { workers: 2 } } });
  const limits = { timeoutMs: ABUSE_TIMEOUT_MS };
  const runOne = async (source: string): Promise<string | undefined> => {
    const task = runtime.start(codeWorkflow(source, { limits }), { x: 1 });
    await task.done;
    return task.error?.code;
  };
  // Workers and the main thread's sandbox started before measuring (as a server does at start-up).
  await (runtime.executors.get('code') as CodeExecutor).warm(runtime.limits.code, ['javascript']);
  await runtime.run(codeWorkflow('function main() { return 1 }'), {});
  // Upstream keeps every task it ran above: without a collection first, the scavenge that moves them
  // (5–15 ms) lands in the middle of this measurement, which is about the sandbox.
  collectGarbage();
  const { result, maxMs, p99Ms, gcMs, gcKind } = await heldEventLoop(async () => {
    const codes = await Promise.all(ABUSE_SCRIPTS.map((script) => runOne(script.source)));
    for (const script of ABUSE_SCRIPTS) {
      codes.push(await runOne(script.source));
      await runtime.run(codeWorkflow('function main({ params }) { return params.x }'), { x: 1 });
    }
    return codes;
  });
  await runtime.close();
  const limited = result.filter((code) => code === 'FLOWGRAM_ERR_LIMIT_EXCEEDED').length;
  console.log(`\nAbuse set (${ABUSE_SCRIPTS.length} scripts at once, then one by one; timeoutMs ${ABUSE_TIMEOUT_MS}):`);
  console.log(`  ${limited}/${result.length} ended in their limit; event loop held at most ${fmt(maxMs)} (p99 ${fmt(p99Ms)}; longest GC pause ${fmt(gcMs)}, ${gcKind}; goal: under 10 ms)`);
}

/**
 * Python code nodes through the same workflows (no upstream counterpart): what their isolation costs
 * per node once warm, next to the JavaScript figures above.
 */
/** How long the Python part may take in all before it is reported as not measured. */
const PYTHON_BENCH_MS = 180_000;

async function benchPython(): Promise<void> {
  const script = 'def main(p):\n    return {"value": p["params"]["value"] * 2}';
  const runtime = createRuntime({ limits: { code: { workers: 2 } } });
  try {
    await (runtime.executors.get('code') as CodeExecutor).warm(runtime.limits.code, ['python']);
    const chain = codeChain(CHAIN_LENGTH, script, 'python');
    const chainRun = async (): Promise<void> => {
      await runtime.run(chain, { value: 1 });
    };
    const chainSamples = summary(await perNodeSamples(chainRun, CHAIN_LENGTH, 3, 20));
    const loop = codeLoop(script, 'python');
    const items = Array.from({ length: LOOP_ITEMS }, (_, i) => i);
    const loopSamples = summary(await perNodeSamples(() => runtime.run(loop, { items }).then(() => undefined), LOOP_ITEMS, 1, 3));
    console.log('\nPython code nodes (warm), time per code node:');
    console.log(`  ${CHAIN_LENGTH}-node chain   p50 ${fmt(chainSamples.p50)}   p99 ${fmt(chainSamples.p99)}`);
    console.log(`  ${LOOP_ITEMS}-item loop   p50 ${fmt(loopSamples.p50)}   p99 ${fmt(loopSamples.p99)}`);
  } catch (error) {
    console.log(`\nPython code nodes: not measured (${error instanceof Error ? error.message : String(error)})`);
  } finally {
    await runtime.close();
  }
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
  console.log('\nOne execution through the runner, sequential (tried on the main thread, fresh context from the snapshot):');
  console.log(`  p50 ${fmt(s.p50)}   p99 ${fmt(s.p99)}`);
}

async function benchThroughput(): Promise<void> {
  const schema = codeChain(4, SCRIPT);
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
// What the machine itself does to an idle event loop (other processes, scheduling): the floor of every "held" figure below.
const idle = await heldEventLoop(() => new Promise((resolve) => setTimeout(resolve, 1_000)));
console.log(`idle process for 1 s: event loop held at most ${fmt(idle.maxMs)} (p99 ${fmt(idle.p99Ms)})`);
await benchChain();
await benchLoop();
await benchAbuse();
// Bounded: a Python runner that cannot start must not stop the rest of the benchmark.
let pythonTimer: NodeJS.Timeout | undefined;
await Promise.race([
  benchPython(),
  new Promise<void>((resolve) => {
    pythonTimer = setTimeout(() => {
      console.log(`\nPython code nodes: not measured (no answer within ${PYTHON_BENCH_MS / 1000} s)`);
      resolve();
    }, PYTHON_BENCH_MS);
  }),
]);
clearTimeout(pythonTimer);
await benchRunner();
await benchStartup();
await benchThroughput();
