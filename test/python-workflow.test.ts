/**
 * Python code nodes through whole workflows: the default runtime's code node, and a runtime that
 * configures its own Python runner (a narrower import allowlist).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, ErrorCodes, type Runtime, type WorkflowInputs } from '../src/index.js';
import { createCodeExecutor } from '../src/nodes/code.js';
import { createPythonRunner } from '../src/sandbox/python/index.js';
import { quickJSRunnerFor } from '../src/sandbox/quickjs-runner.js';
import { codeWorkflow, runCodeWorkflow, type CodeRun, type CodeWorkflowOptions } from './helpers/code-workflow.js';

let runtime: Runtime;
let narrow: Runtime;

beforeAll(async () => {
  runtime = createRuntime({ limits: { code: { workers: 1, timeoutMs: 10_000 } } });
  narrow = createRuntime({
    executors: [createCodeExecutor({ runners: [quickJSRunnerFor, createPythonRunner({ interpreters: 1, allowedModules: ['json'] })] })],
  });
  // Start both interpreters at once; the cold start is paid here, once.
  await Promise.all([runPython(runtime, 'def main(p):\n    return 1'), runPython(narrow, 'def main(p):\n    return 1')]);
}, 180_000);

afterAll(async () => {
  await Promise.all([runtime.close(), narrow.close()]);
});

function runPython(on: Runtime, content: string, inputs?: WorkflowInputs, options: CodeWorkflowOptions = {}): Promise<CodeRun> {
  return runCodeWorkflow(on, content, inputs, { ...options, language: 'python' });
}

describe('python code node in a workflow', () => {
  it('runs main(p) with the node inputs and uses a dict return as the outputs', async () => {
    const run = await runPython(runtime, 'def main(p):\n    return {"doubled": p["params"]["x"] * 2, "tag": "ok"}', { x: 21 }, { outputs: ['doubled', 'tag'] });
    expect(run.status).toBe('succeeded');
    expect(run.nodeOutputs).toEqual({ doubled: 42, tag: 'ok' });
    expect(run.outputs).toEqual({ doubled: 42, tag: 'ok' });
  });

  it('wraps any other value in result', async () => {
    const run = await runPython(runtime, 'def main(p):\n    return [p["params"]["x"], None]', { x: 'a' });
    expect(run.outputs).toEqual({ result: ['a', null] });
  });

  it('puts print() output into the report messages', async () => {
    const run = await runPython(runtime, 'def main(p):\n    print("hello", p["params"]["x"])\n    return 1', { x: 5 });
    expect(run.messages.log.map((message) => ({ message: message.message, nodeID: message.nodeID }))).toEqual([{ message: 'hello 5', nodeID: 'code_0' }]);
  });

  it('fails the node with the Python message and line', async () => {
    const run = await runPython(runtime, 'def main(p):\n    return {}["missing"]');
    expect(run.status).toBe('failed');
    expect(run.nodeError).toBe("KeyError: 'missing' (line 2)");
    expect(run.error).toEqual({ code: ErrorCodes.NODE_FAILED, message: `node "code_0" failed: KeyError: 'missing' (line 2)`, nodeID: 'code_0' });
  });

  it('fails with LIMIT_EXCEEDED naming the limit when a node lowers its timeout', async () => {
    const run = await runPython(runtime, 'def main(p):\n    while True:\n        pass', {}, { limits: { timeoutMs: 300 } });
    expect(run.nodeError).toBe('code: timeoutMs exceeded (300 ms)');
    expect(run.error?.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
  });

  it('cancels a running Python script at once', async () => {
    const task = runtime.start(codeWorkflow('def main(p):\n    while True:\n        pass', { language: 'python' }), { x: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cancelledAt = performance.now();
    task.cancel('stop');
    await task.done;
    expect(task.status).toBe('canceled');
    expect(performance.now() - cancelledAt).toBeLessThan(1_000);
  });
});

describe('a runtime with its own Python configuration', () => {
  it('uses its own import allowlist', async () => {
    expect((await runPython(narrow, 'import json\ndef main(p):\n    return json.dumps(1)')).outputs).toEqual({ result: '1' });
    const refused = await runPython(narrow, 'import math\ndef main(p):\n    return 1');
    expect(refused.nodeError).toBe('sandbox: import of "math" is not allowed (line 1)');
  });

  it('still runs JavaScript beside Python', async () => {
    const run = await runPython(narrow, 'def main(p):\n    return 1');
    expect(run.outputs).toEqual({ result: 1 });
    const task = narrow.start(codeWorkflow('function main({ params }) { return params.x + 1 }'), { x: 1 });
    expect(await task.wait()).toEqual({ result: 2 });
  });
});

describe('processes that run Python code nodes', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));

  function exited(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, args, { cwd: root });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('flowgram run prints the result and the script output, and exits 0 once its interpreter is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowgram-py-cli-'));
    const file = join(dir, 'double.json');
    const script = 'def main(p):\n    print("hello", p["params"]["x"])\n    return {"y": p["params"]["x"] * 2}';
    writeFileSync(file, JSON.stringify(codeWorkflow(script, { language: 'python', outputs: ['y'] })));
    try {
      const { code, stdout, stderr } = await exited(['bin/flowgram.js', 'run', file, '--inputs', '{"x":21}']);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ y: 42 });
      expect(stderr).toContain('hello 21');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('lets a program that ran a Python node exit without closing the runtime', async () => {
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const program = `
      import { createRuntime } from ${JSON.stringify(dist)};
      const runtime = createRuntime();
      console.log(JSON.stringify(await runtime.run(JSON.parse(process.argv[1]), { x: 20 })));
    `;
    const schema = codeWorkflow('def main(p):\n    return p["params"]["x"] + 1', { language: 'python' });
    const { code, stdout } = await exited(['--input-type=module', '-e', program, JSON.stringify(schema)]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('{"result":21}');
  }, 120_000);
});
