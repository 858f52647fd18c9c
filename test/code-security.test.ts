/**
 * Escape and abuse attempts against the code node. Every script is hostile; each case asserts the
 * exact outcome, and that the host (this process) is unchanged afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, ErrorCodes, type Runtime, type WorkflowInputs } from '../src/index.js';
import { runCodeWorkflow, type CodeRun, type CodeWorkflowOptions } from './helpers/code-workflow.js';

// Scripts that are meant to time out get TIMEOUT_MS as a node-level limit; everything else gets the
// runtime's roomier limit, so a loaded CI machine does not turn a memory bomb into a timeout.
const TIMEOUT_MS = 1_000;
const SPIN_LIMITS = { timeoutMs: TIMEOUT_MS };
let runtime: Runtime;

beforeAll(async () => {
  runtime = createRuntime({ limits: { code: { workers: 2, timeoutMs: 10_000 } } });
  await runCode('function main() { return 1 }');
});

afterAll(async () => {
  await runtime.close();
  // Nothing a script did may have reached the host.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
});

function runCode(content: string, inputs?: WorkflowInputs, options?: CodeWorkflowOptions): Promise<CodeRun> {
  return runCodeWorkflow(runtime, content, inputs, options);
}

async function expectResult(content: string, expected: unknown): Promise<void> {
  const run = await runCode(content);
  expect(run.nodeError).toBeUndefined();
  expect(run.nodeOutputs).toEqual({ result: expected });
}

async function expectFailure(content: string, message: string, code: string = ErrorCodes.NODE_FAILED, options: CodeWorkflowOptions = {}) {
  const run = await runCode(content, { x: 1 }, options);
  expect(run.status).toBe('failed');
  expect(run.nodeError).toBe(message);
  expect(run.error).toEqual({ code, message: `node "code_0" failed: ${message}`, nodeID: 'code_0' });
  return run;
}

describe('host globals are unreachable', () => {
  it('has no Node or browser globals', async () => {
    const names = ['process', 'require', 'module', 'exports', 'global', 'Buffer', 'fetch', 'XMLHttpRequest', 'WebSocket', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'std', 'os', 'print', 'scriptArgs', 'WebAssembly', 'Atomics', '__dirname'];
    await expectResult(`function main() { return [${names.map((name) => `typeof ${name}`).join(', ')}] }`, names.map(() => 'undefined'));
  });

  it('cannot reach process through a constructor chain', async () => {
    await expectResult('function main() { return ({}).constructor.constructor("return typeof process")() }', 'undefined');
  });

  it('cannot reach the host through the script-level this', async () => {
    await expectResult('const F = this.constructor.constructor; function main() { return F("return typeof require")() }', 'undefined');
  });

  it('gets only the sandbox global from Function("return this")', async () => {
    const run = await runCode('function main() { const g = Function("return this")(); return Object.getOwnPropertyNames(g) }');
    const names = (run.nodeOutputs as { result: string[] }).result;
    expect(names).toContain('console');
    expect(names).toContain('JSON');
    for (const hostName of ['process', 'require', 'Buffer', 'global', 'fetch', 'setTimeout']) expect(names).not.toContain(hostName);
  });

  it('cannot reach the host through an error object', async () => {
    await expectResult('function main() { try { null.f() } catch (e) { return e.constructor.constructor("return typeof require")() } }', 'undefined');
  });

  it('cannot reach the host through eval', async () => {
    await expectResult('function main() { return eval("typeof process + typeof require") }', 'undefinedundefined');
  });

  it('cannot require modules', async () => {
    await expectFailure('function main() { return require("fs") }', "ReferenceError: 'require' is not defined (line 1)");
  });

  it('cannot import() modules', async () => {
    await expectFailure('async function main() { return await import("fs") }', "ReferenceError: could not load module 'fs'");
    await expectFailure('async function main() { return await import("node:child_process") }', "ReferenceError: could not load module 'node:child_process'");
  });

  it('cannot use static imports', async () => {
    await expectFailure('import fs from "fs";\nfunction main() {}', "SyntaxError: expecting '(' (line 1, column 8)");
  });

  it('cannot exit the process', async () => {
    await expectFailure('function main() { process.exit(1) }', "ReferenceError: 'process' is not defined (line 1)");
  });

  it('has no timers that could outlive the call', async () => {
    await expectFailure('function main() { setTimeout(() => {}, 0) }', "ReferenceError: 'setTimeout' is not defined (line 1)");
  });

  it('has no Atomics.wait to block the worker', async () => {
    await expectFailure('function main() { const sab = new SharedArrayBuffer(16); return Atomics.wait(new Int32Array(sab), 0, 0) }', "ReferenceError: 'Atomics' is not defined (line 1)");
  });
});

describe('prototype tricks change nothing outside the sandbox', () => {
  it('returns a __proto__ key as plain data, without polluting host objects', async () => {
    const run = await runCode('function main() { return JSON.parse(\'{"__proto__": {"polluted": true}, "a": 1}\') }', {}, { outputs: ['a'] });
    expect(run.status).toBe('succeeded');
    expect(Object.getPrototypeOf(run.nodeOutputs)).toBe(Object.prototype);
    expect(Object.keys(run.nodeOutputs as object).sort()).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps prototype changes inside one execution', async () => {
    await expectResult('function main() { Object.prototype.polluted = true; Array.prototype.push = null; return ({}).polluted }', true);
    await expectResult('function main() { return [({}).polluted ?? null, typeof [].push] }', [null, 'function']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('cannot forge the outputs by replacing JSON', async () => {
    const run = await runCode('JSON.stringify = () => \'{"forged":1}\'; JSON.parse = () => ({ x: 666 }); function main({ params }) { return { a: params.x } }', { x: 7 }, { outputs: ['a'] });
    expect(run.nodeOutputs).toEqual({ a: 7 });
  });

  it('drops functions and symbols from the outputs (JSON only)', async () => {
    const run = await runCode('function main() { return { f: () => 1, s: Symbol("x"), u: undefined, n: NaN, d: 1 } }');
    expect(run.nodeOutputs).toEqual({ n: null, d: 1 });
  });

  it('cannot smuggle a failure out of toJSON', async () => {
    await expectFailure('function main() { return { toJSON() { throw new Error("no json") } } }', 'no json (line 1)');
  });

  it('cannot crash the host with an unreadable thrown value', async () => {
    await expectFailure('function main() { throw { get message() { throw 1 } } }', '"[object Object]"');
  });
});

describe('resource abuse ends with the limit it hit', () => {
  const timeout = `code: timeoutMs exceeded (${TIMEOUT_MS} ms)`;

  it('stops an infinite loop', async () => {
    const run = await expectFailure('function main() { while (true) {} }', timeout, ErrorCodes.LIMIT_EXCEEDED, { limits: SPIN_LIMITS });
    expect(run.ms).toBeLessThan(TIMEOUT_MS + 1_500);
  });

  it('cannot catch the interrupt and keep going', async () => {
    await expectFailure('function main() { for (;;) { try { for (;;) {} } catch (e) {} } }', timeout, ErrorCodes.LIMIT_EXCEEDED, { limits: SPIN_LIMITS });
  });

  it('stops an infinite loop at the top level of the script', async () => {
    await expectFailure('for (;;) {}\nfunction main() {}', timeout, ErrorCodes.LIMIT_EXCEEDED, { limits: SPIN_LIMITS });
  });

  it('stops an infinite loop after an await', async () => {
    await expectFailure('async function main() { await null; for (;;) {} }', timeout, ErrorCodes.LIMIT_EXCEEDED, { limits: SPIN_LIMITS });
  });

  it('stops an endless chain of microtasks', async () => {
    // Each job queues the next and returns nothing, so memory stays flat and only the clock can stop it
    // (a chain whose promises resolve to each other also grows the heap, and then races the memory limit).
    await expectFailure('function main() { return new Promise(() => { const f = () => { Promise.resolve().then(f); }; f(); }) }', timeout, ErrorCodes.LIMIT_EXCEEDED, { limits: SPIN_LIMITS });
  });

  it('stops a main getter that never returns', async () => {
    await expectFailure('Object.defineProperty(globalThis, "main", { get() { for (;;) {} } })', timeout, ErrorCodes.LIMIT_EXCEEDED, { limits: SPIN_LIMITS });
  });

  it('stops catastrophic regex backtracking', async () => {
    await expectFailure('function main() { return /(a+)+$/.test("a".repeat(40) + "b") }', timeout, ErrorCodes.LIMIT_EXCEEDED, { limits: SPIN_LIMITS });
  });

  it('fails a promise that never settles at once instead of waiting for the timeout', async () => {
    await expectResult('function main() { return 1 }', 1); // a worker is ready again after the timeouts above
    const run = await expectFailure('function main() { return new Promise(() => {}) }', 'main returned a promise that never settles');
    expect(run.ms).toBeLessThan(TIMEOUT_MS);
  });

  it('ignores microtasks left running after main returned', async () => {
    await expectResult('function main() { const f = () => Promise.resolve().then(f); f(); return 1 }', 1);
  });

  it('stops infinite recursion', async () => {
    await expectFailure('function main() { const f = (n) => f(n + 1) + 1; return f(0) }', 'code: stackBytes exceeded (1048576 bytes)', ErrorCodes.LIMIT_EXCEEDED);
  });

  it('stops a memory bomb', async () => {
    await expectFailure('function main() { const a = []; for (;;) a.push(new Float64Array(1e5)) }', 'code: memoryBytes exceeded (33554432 bytes)', ErrorCodes.LIMIT_EXCEEDED);
  });

  it('stops one huge allocation', async () => {
    await expectFailure('function main() { return "x".repeat(2 ** 28).length }', 'code: memoryBytes exceeded (33554432 bytes)', ErrorCodes.LIMIT_EXCEEDED);
    await expectFailure('function main() { return new ArrayBuffer(1e9).byteLength }', 'code: memoryBytes exceeded (33554432 bytes)', ErrorCodes.LIMIT_EXCEEDED);
  });

  it('refuses a huge string output', async () => {
    await expectFailure('function main() { return "x".repeat(2e6) }', 'code: outputBytes exceeded (1048576 bytes)', ErrorCodes.LIMIT_EXCEEDED);
  });

  it('refuses outputs with cycles', async () => {
    await expectFailure('function main() { const a = { b: {} }; a.b.a = a; return a }', 'main returned a value that is not JSON (circular reference)');
  });

  it('refuses a BigInt output', async () => {
    await expectFailure('function main() { return 10n }', 'TypeError: Do not know how to serialize a BigInt');
  });

  it('bounds a console flood', async () => {
    const run = await runCode('function main() { for (let i = 0; i < 2e4; i++) console.log("spam".repeat(50), i); return 1 }');
    expect(run.status).toBe('succeeded');
    const logged = run.messages.log.reduce((bytes, message) => bytes + message.message.length, 0);
    expect(logged).toBeLessThanOrEqual(64 * 1024);
    expect(run.messages.warning.map((message) => message.message)).toEqual(['console output truncated (consoleBytes limit reached)']);
  });

  it('runs no script code after main returned: a getter planted on the console list never runs', async () => {
    // An Array.prototype[0] setter used to catch the console's own list; the getter it planted then ran
    // after main, with the deadline cleared, until the worker was killed.
    const script = [
      'Object.defineProperty(Array.prototype, 0, { configurable: true, set() {',
      '  Object.defineProperty(this, 0, { configurable: true, get() { for (;;) {} } });',
      '} });',
      'function main() { console.log("kept"); return 1 }',
    ].join('\n');
    const run = await runCode(script, { x: 1 }, { limits: SPIN_LIMITS });
    expect(run.error).toBeUndefined();
    expect(run.nodeOutputs).toEqual({ result: 1 });
    expect(run.messages.log.map((message) => message.message)).toEqual(['kept']);
  });

  it('reads a thrown value with the memory limit still in force', async () => {
    const run = await runCode('function main() { throw { get message() { return "allocated " + "x".repeat(16 * 1024 * 1024).length } } }', { x: 1 }, { limits: { memoryBytes: 4 * 1024 * 1024 } });
    expect(run.status).toBe('failed');
    expect(run.nodeError).not.toContain('allocated');
  });

  it('keeps working after every kind of abuse', async () => {
    await expectResult('function main({ params }) { return params.x + 1 }', 2);
  });
});
