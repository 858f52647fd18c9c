/**
 * The sandbox runs off the main thread: a spinning script neither stalls the event loop nor delays
 * other tasks, cancel stops it at once, and an idle pool never keeps the process alive.
 */
import { spawnSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, ErrorCodes, type Runtime } from '../src/index.js';
import type { CodeExecutor } from '../src/nodes/code.js';
import { ABUSE_SCRIPTS, ABUSE_TIMEOUT_MS } from './fixtures/code-abuse.js';
import { codeWorkflow, runCodeWorkflow } from './helpers/code-workflow.js';

const SPIN = 'function main() { while (true) {} }';
let runtime: Runtime;

beforeAll(async () => {
  runtime = createRuntime({ limits: { code: { workers: 2, timeoutMs: 10_000 } } });
  // Start both workers before measuring anything.
  await (runtime.executors.get('code') as CodeExecutor).warm(runtime.limits.code, ['javascript']);
});

afterAll(async () => {
  await runtime.close();
});

/** Largest delay of a 10 ms interval timer while `work` runs: how stalled the event loop was. */
async function eventLoopLag<T>(work: () => Promise<T>): Promise<{ result: T; lagMs: number }> {
  let lagMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lagMs = Math.max(lagMs, now - last - 10);
    last = now;
  }, 10);
  try {
    return { result: await work(), lagMs };
  } finally {
    clearInterval(timer);
  }
}

describe('code sandbox isolation from the host', () => {
  it('keeps other tasks and the event loop going while a script spins', async () => {
    const spinning = runtime.start(codeWorkflow(SPIN), {});
    const { result, lagMs } = await eventLoopLag(async () => {
      const started = performance.now();
      const outputs = await runtime.run(codeWorkflow('function main({ params }) { return params.x * 2 }'), { x: 21 });
      return { outputs, ms: performance.now() - started };
    });
    expect(result.outputs).toEqual({ result: 42 });
    expect(result.ms).toBeLessThan(1_000);
    expect(lagMs).toBeLessThan(200);
    expect(spinning.status).toBe('processing');
    spinning.cancel();
    await spinning.done;
  });

  it('kills a spinning script at once when its task is cancelled', async () => {
    const spinning = runtime.start(codeWorkflow(SPIN), {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cancelled = performance.now();
    spinning.cancel('stop');
    await spinning.done;
    expect(performance.now() - cancelled).toBeLessThan(100);
    expect(spinning.status).toBe('canceled');
    expect(spinning.error).toEqual({ code: ErrorCodes.TASK_CANCELLED, message: 'stop' });
    // The pool replaced the killed worker and still runs scripts.
    expect(await runtime.run(codeWorkflow('function main() { return "alive" }'))).toEqual({ result: 'alive' });
  });

  it('kills the worker from outside when the script ignores its deadline', async () => {
    // A node-level timeout shorter than the runtime's still ends the script.
    const task = runtime.start(codeWorkflow(SPIN, { limits: { timeoutMs: 200 } }), {});
    await task.done;
    expect(task.error).toEqual({ code: ErrorCodes.LIMIT_EXCEEDED, message: 'node "code_0" failed: code: timeoutMs exceeded (200 ms)', nodeID: 'code_0' });
  });

  it('closes while a script spins', async () => {
    const local = createRuntime({ limits: { code: { workers: 1 } } });
    const spinning = local.start(codeWorkflow(SPIN), {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    await local.close();
    await spinning.done;
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(spinning.status).toBe('canceled');
  });

  it('never holds the event loop long while the abuse set runs (each ends in its limit)', async () => {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const runs = await Promise.all(ABUSE_SCRIPTS.map((script) => runCodeWorkflow(runtime, script.source, { x: 1 }, { limits: { timeoutMs: ABUSE_TIMEOUT_MS } })));
    for (const script of ABUSE_SCRIPTS) {
      expect(await runCodeWorkflow(runtime, script.source, { x: 1 }, { limits: { timeoutMs: ABUSE_TIMEOUT_MS } })).toMatchObject({ status: 'failed', error: { code: ErrorCodes.LIMIT_EXCEEDED } });
    }
    delay.disable();
    for (const run of runs) expect(run.error?.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
    // The goal is under 10 ms (bench:code measures it); the bound here leaves room for a loaded machine.
    expect(delay.max / 1e6).toBeLessThan(200);
    expect(await runtime.run(codeWorkflow('function main({ params }) { return params.x + 1 }'), { x: 1 })).toEqual({ result: 2 });
  });

  it('lets a process that used the code node exit without closing the runtime (built package)', () => {
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      import { createRuntime } from ${JSON.stringify(dist)};
      const schema = JSON.parse(process.argv[1]);
      const runtime = createRuntime();
      const outputs = await runtime.run(schema, { x: 20 });
      console.log(JSON.stringify(outputs));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(codeWorkflow('function main({ params }) { return params.x + 1 }'))], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('{"result":21}');
  });
});
