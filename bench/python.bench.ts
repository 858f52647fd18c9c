/**
 * Python code node benchmark: interpreter cold start, warm per-execution cost of a trivial `main`
 * (goal: median ≤ 2 ms, including the hop to the interpreter process and the restore of its memory
 * after each script), the same through a whole workflow, and memory per interpreter process.
 *
 *   npm run bench:python      (tsx bench/python.bench.ts)
 *
 * The runner is driven directly (what the code node calls) and through `runtime.run` (start → code →
 * end), one script at a time so the numbers are latencies, not throughput.
 */
import { performance } from 'node:perf_hooks';
import { createRuntime } from '../src/index.js';
import { DEFAULT_CODE_LIMITS } from '../src/sandbox/limits.js';
import { createPythonRunner } from '../src/sandbox/python/index.js';
import { codeWorkflow } from '../test/helpers/code-workflow.js';

const WARM_RUNS = 2_000;
const WORKFLOW_RUNS = 500;
const TRIVIAL = 'def main(p):\n    return {"y": p["params"]["x"] + 1}';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `median ${percentile(sorted, 50).toFixed(3)} ms, p90 ${percentile(sorted, 90).toFixed(3)} ms, p99 ${percentile(sorted, 99).toFixed(3)} ms`;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const signal = new AbortController().signal;
const limits = { ...DEFAULT_CODE_LIMITS };

async function runnerBench(): Promise<void> {
  const runner = createPythonRunner({ interpreters: 2 });
  const request = { language: 'python', source: TRIVIAL, params: { x: 1 }, limits };
  const coldStarted = performance.now();
  const first = await runner.run(request, signal);
  if (!first.ok) throw new Error(first.error);
  const firstMs = performance.now() - coldStarted;
  console.log(`cold start: first answer after ${firstMs.toFixed(0)} ms (interpreter start ${runner.stats().coldStartsMs[0].toFixed(0)} ms)`);

  for (let i = 0; i < 200; i++) await runner.run(request, signal);
  const samples: number[] = [];
  for (let i = 0; i < WARM_RUNS; i++) {
    const started = performance.now();
    const result = await runner.run(request, signal);
    samples.push(performance.now() - started);
    if (!result.ok) throw new Error(result.error);
  }
  console.log(`warm runner.run, trivial main (${WARM_RUNS} runs): ${summary(samples)}`);

  // A second interpreter, started while none is busy, for the memory it adds.
  runner.warm(2);
  while (runner.stats().coldStartsMs.length < 2) await Promise.all([runner.run(request, signal), runner.run(request, signal)]);
  const stats = runner.stats();
  console.log(`cold start of a later interpreter (from the first one's memory image): ${stats.coldStartsMs[1].toFixed(0)} ms`);
  console.log(`memory: each interpreter process holds ${mib(stats.lastRssBytes)} resident, of which the Python (wasm) heap is ${mib(stats.lastHeapBytes)}`);
  const walls = stats.confinement;
  console.log(
    `isolation: Node permission model, empty environment, ${walls?.networkIsolated ? 'own network namespace' : 'NO network namespace on this machine'}, ` +
      `${walls?.unprivileged ? 'runs as nobody' : 'same user as the server'}; memory restored after every script`,
  );
  await runner.close();
}

async function workflowBench(): Promise<void> {
  const runtime = createRuntime({ limits: { code: { workers: 1 } } });
  const schema = codeWorkflow(TRIVIAL, { language: 'python', outputs: ['y'] });
  await runtime.run(schema, { x: 1 });
  for (let i = 0; i < 100; i++) await runtime.run(schema, { x: i });
  const samples: number[] = [];
  for (let i = 0; i < WORKFLOW_RUNS; i++) {
    const started = performance.now();
    await runtime.run(schema, { x: i });
    samples.push(performance.now() - started);
  }
  console.log(`warm workflow start → python code → end (${WORKFLOW_RUNS} runs): ${summary(samples)}`);
  await runtime.close();
}

await runnerBench();
await workflowBench();
