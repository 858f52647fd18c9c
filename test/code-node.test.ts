import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, ErrorCodes, type Runtime, type WorkflowInputs } from '../src/index.js';
import { codeWorkflow, runCodeWorkflow, type CodeRun, type CodeWorkflowOptions } from './helpers/code-workflow.js';

let runtime: Runtime;

beforeAll(async () => {
  runtime = createRuntime({ limits: { code: { workers: 2, timeoutMs: 5_000 } } });
  await runCode('function main() { return 1 }'); // start the pool once for the whole file
});

afterAll(async () => {
  await runtime.close();
});

function runCode(content: string, inputs?: WorkflowInputs, options?: CodeWorkflowOptions): Promise<CodeRun> {
  return runCodeWorkflow(runtime, content, inputs, options);
}

describe('code node contract', () => {
  it('runs a sync main and uses a plain-object return as the outputs', async () => {
    const run = await runCode('function main({ params }) { return { doubled: params.x * 2, tag: "ok" } }', { x: 21 }, { outputs: ['doubled', 'tag'] });
    expect(run.status).toBe('succeeded');
    expect(run.nodeOutputs).toEqual({ doubled: 42, tag: 'ok' });
    expect(run.outputs).toEqual({ doubled: 42, tag: 'ok' });
  });

  it('awaits inside an async main', async () => {
    const script = 'async function main({ params }) { const a = await Promise.resolve(params.x); await null; return { sum: a + (await 2) } }';
    const run = await runCode(script, { x: 40 }, { outputs: ['sum'] });
    expect(run.outputs).toEqual({ sum: 42 });
  });

  it.each([
    ['a string', '"text"', 'text'],
    ['a number', '42', 42],
    ['an array', '[1, 2]', [1, 2]],
    ['null', 'null', null],
    ['a boolean', 'false', false],
  ])('wraps %s in { result }', async (_name, literal, expected) => {
    const run = await runCode(`const main = () => ${literal};`);
    expect(run.nodeOutputs).toEqual({ result: expected });
    expect(run.outputs).toEqual({ result: expected });
  });

  it('gives no outputs when main returns undefined', async () => {
    const run = await runCode('function main() {}');
    expect(run.status).toBe('succeeded');
    expect(run.nodeOutputs).toEqual({});
  });

  it('fails with the script\'s own message when main throws', async () => {
    const run = await runCode('function main() { throw new Error("boom") }');
    expect(run.status).toBe('failed');
    expect(run.error).toEqual({ code: ErrorCodes.NODE_FAILED, message: 'node "code_0" failed: boom (line 1)', nodeID: 'code_0' });
    expect(run.nodeError).toBe('boom (line 1)');
  });

  it('names the error type of built-in errors', async () => {
    const run = await runCode('function main() { return null.x }');
    expect(run.nodeError).toBe("TypeError: cannot read property 'x' of null (line 1)");
  });

  it('names the script line a runtime error came from, inside a helper or after an await', async () => {
    const script = ['function check(value) {', '  if (!value) throw new Error("no value");', '}', 'async function main({ params }) {', '  await null;', '  check(params.x);', '}'].join('\n');
    expect((await runCode(script, { x: 0 })).nodeError).toBe('no value (line 2)');
    const typed = ['interface P { x: number }', 'async function main({ params }: { params: P }) {', '  const y: number = params.x;', '  return { y: y.toFixed(1).missing() };', '}'].join('\n');
    expect((await runCode(typed, { x: 1 }, { language: 'typescript' })).nodeError).toBe('TypeError: not a function (line 4)');
    // A thrown value that is not an Error has no stack and no line; one whose getters throw is still described.
    expect((await runCode('function main() { throw { message: "plain object" } }')).nodeError).toBe('plain object');
    const hostile = 'function main() { RegExp.prototype.exec = () => ["", "999"]; throw new Error("e") }';
    expect((await runCode(hostile)).nodeError).toBe('e (line 1)');
  });

  it('fails with the rejection message of an async main', async () => {
    const run = await runCode('async function main() { await null; throw new Error("later") }');
    expect(run.nodeError).toBe('later (line 1)');
  });

  it('fails with the thrown value when it is not an Error', async () => {
    expect((await runCode('function main() { throw "plain" }')).nodeError).toBe('plain');
    expect((await runCode('function main() { throw { code: 7 } }')).nodeError).toBe('{"code":7}');
  });

  it('fails clearly without a main function', async () => {
    const run = await runCode('const answer = 42;');
    expect(run.status).toBe('failed');
    expect(run.nodeError).toBe('main function is required in the script');
  });

  it('reports syntax errors', async () => {
    expect((await runCode('function main( {')).nodeError).toBe('SyntaxError: invalid property name (line 2, column 1)');
  });

  it('strips TypeScript types before running', async () => {
    const script = [
      'interface Params { x: number }',
      'type Out = { y: number };',
      'enum Kind { A = 1 }',
      'async function main({ params }: { params: Params }): Promise<Out> {',
      '  const y: number = (params.x as number) + Kind.A;',
      '  return { y };',
      '}',
    ].join('\n');
    const run = await runCode(script, { x: 41 }, { language: 'typescript', outputs: ['y'] });
    expect(run.outputs).toEqual({ y: 42 });
  });

  it('reports TypeScript that does not parse', async () => {
    const run = await runCode('function main(: {', {}, { language: 'typescript' });
    expect(run.nodeError).toMatch(/^TypeScript: Unexpected token \(1:\d+\)$/);
  });

  it('rejects other languages clearly', async () => {
    const run = await runCode('def main(): pass', {}, { language: 'cobol' });
    expect(run.status).toBe('failed');
    expect(run.nodeError).toMatch(/^code: unsupported language "cobol" \(supported: javascript, typescript/);
  });

  it('captures console output into the report with the node ID', async () => {
    const script = `function main({ params }) {
      console.log('hello', params.x, { a: 1 });
      console.info('info');
      console.warn('careful');
      console.error('bad', [1, 2]);
      console.debug('details');
      return {};
    }`;
    const run = await runCode(script, { x: 5 });
    const pick = (list: Array<{ message: string; nodeID?: string }>) => list.map(({ message, nodeID }) => ({ message, nodeID }));
    expect(pick(run.messages.log)).toEqual([{ message: 'hello 5 {"a":1}', nodeID: 'code_0' }]);
    expect(pick(run.messages.info)).toEqual([{ message: 'info', nodeID: 'code_0' }]);
    expect(pick(run.messages.warning)).toEqual([{ message: 'careful', nodeID: 'code_0' }]);
    expect(pick(run.messages.error)).toEqual([{ message: 'bad [1,2]', nodeID: 'code_0' }]);
    expect(pick(run.messages.debug)).toEqual([{ message: 'details', nodeID: 'code_0' }]);
  });

  it('keeps console output of a failing script', async () => {
    const run = await runCode('function main() { console.log("before"); throw new Error("after") }');
    expect(run.messages.log.map((m) => m.message)).toEqual(['before']);
    expect(run.nodeError).toBe('after (line 1)');
  });

  it('caps console output at consoleBytes', async () => {
    const run = await runCode('function main() { for (let i = 0; i < 1000; i++) console.log("x".repeat(100)); return 1 }', {}, { limits: { consoleBytes: 1000 } });
    expect(run.status).toBe('succeeded');
    expect(run.messages.log).toHaveLength(10);
    expect(run.messages.warning.map((m) => m.message)).toEqual(['console output truncated (consoleBytes limit reached)']);
  });

  it('hands params in as JSON and takes outputs out as JSON', async () => {
    const run = await runCode('function main({ params }) { return { type: typeof params.x, keys: Object.keys(params.x), date: new Date(0) } }', { x: { b: [1, { c: null }] } }, { outputs: ['type', 'keys', 'date'] });
    expect(run.outputs).toEqual({ type: 'object', keys: ['b'], date: '1970-01-01T00:00:00.000Z' });
  });

  it('starts each execution from a fresh context', async () => {
    const script = 'function main() { globalThis.counter = (globalThis.counter ?? 0) + 1; Array.prototype.leak = 1; return { counter: globalThis.counter, leak: [].leak ?? null } }';
    for (let i = 0; i < 3; i++) {
      expect((await runCode(script, {}, { outputs: ['counter', 'leak'] })).outputs).toEqual({ counter: 1, leak: 1 });
    }
    expect((await runCode('function main() { return { leak: [].leak ?? null } }', {}, { outputs: ['leak'] })).outputs).toEqual({ leak: null });
  });

  it('lets a node lower its limits but not raise them', async () => {
    const lowered = await runCode('function main() { while (true) {} }', {}, { limits: { timeoutMs: 100 } });
    expect(lowered.nodeError).toBe('code: timeoutMs exceeded (100 ms)');
    const raised = await runCode('function main() { return "x".repeat(2000) }', {}, { limits: { outputBytes: 10_000_000 } });
    expect(raised.status).toBe('succeeded');
    const small = createRuntime({ limits: { code: { workers: 1, outputBytes: 100 } } });
    try {
      const task = small.start(codeWorkflow('function main() { return "x".repeat(2000) }', { limits: { outputBytes: 10_000_000 } }), {});
      await task.done;
      expect(task.error).toEqual({ code: ErrorCodes.LIMIT_EXCEEDED, message: 'node "code_0" failed: code: outputBytes exceeded (100 bytes)', nodeID: 'code_0' });
    } finally {
      await small.close();
    }
  });
});
