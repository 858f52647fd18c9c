/**
 * Python code nodes through whole workflows: the default runtime's code node, and a runtime that
 * configures its own Python runner (a narrower import allowlist).
 */
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
