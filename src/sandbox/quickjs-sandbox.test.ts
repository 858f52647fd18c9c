import { readFileSync } from 'node:fs';
import { newQuickJSWASMModule, RELEASE_SYNC } from 'quickjs-emscripten';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CODE_LIMITS } from './limits.js';
import { QuickJSSandbox, type SandboxRequest } from './quickjs-sandbox.js';
import { memoryLayout, quickJSWasmFile } from './quickjs-wasm.js';

const layout = memoryLayout(readFileSync(quickJSWasmFile()));

/** A sandbox owns its module's whole memory: one module each. */
async function newSandbox(): Promise<QuickJSSandbox> {
  return new QuickJSSandbox(await newQuickJSWASMModule(RELEASE_SYNC), layout);
}

function request(source: string, overrides: Partial<SandboxRequest> = {}): SandboxRequest {
  return { language: 'javascript', source, paramsJSON: '{"x":1}', limits: DEFAULT_CODE_LIMITS, ...overrides };
}

describe('QuickJSSandbox (in-process)', () => {
  it('returns the outputs as JSON text, wrapping non-objects in result', async () => {
    const sandbox = await newSandbox();
    expect(sandbox.run(request('function main({ params }) { return { y: params.x + 1 } }'))).toEqual({ ok: true, outputsJSON: '{"y":2}', logs: [] });
    expect(sandbox.run(request('const main = () => [1]'))).toEqual({ ok: true, outputsJSON: '{"result":[1]}', logs: [] });
  });

  it('starts every execution from a fresh context, whatever the previous script changed', async () => {
    const sandbox = await newSandbox();
    const tamper = [
      'function main() {',
      '  globalThis.n = (globalThis.n ?? 0) + 1; Object.prototype.polluted = 1; Array.prototype.push = null;',
      '  JSON.stringify = () => "forged"; delete globalThis.console; Symbol.for("registered");',
      '  globalThis.keep = Array.from({ length: 100000 }, (_, i) => ({ i }));',
      '  return globalThis.n',
      '}',
    ].join('\n');
    const look =
      'function main() { console.log("still here"); return { n: globalThis.n ?? 0, polluted: ({}).polluted ?? 0, push: typeof [].push, json: JSON.stringify([1]), keep: typeof globalThis.keep } }';
    for (let round = 0; round < 3; round++) {
      expect(sandbox.run(request(tamper))).toMatchObject({ ok: true, outputsJSON: '{"result":1}' });
      expect(sandbox.run(request(look))).toEqual({
        ok: true,
        outputsJSON: '{"n":0,"polluted":0,"push":"function","json":"[1]","keep":"undefined"}',
        logs: [{ level: 'log', message: 'still here' }],
      });
    }
  });

  it('gives every execution its own Math.random sequence (the snapshot would otherwise replay one)', async () => {
    const sandbox = await newSandbox();
    const script = 'function main() { const v = Array.from({ length: 4 }, () => Math.random()); return { v, ok: v.every((x) => x >= 0 && x < 1) } }';
    const draws = Array.from({ length: 5 }, () => JSON.parse((sandbox.run(request(script)) as { outputsJSON: string }).outputsJSON) as { v: number[]; ok: boolean });
    expect(draws.every((draw) => draw.ok)).toBe(true);
    expect(new Set(draws.map((draw) => draw.v.join(','))).size).toBe(5);
    expect(new Set(draws.flatMap((draw) => draw.v)).size).toBe(20);
  });

  it('recovers from a timeout, running out of memory or stack, and a promise loop left behind', async () => {
    const sandbox = await newSandbox();
    const limits = { ...DEFAULT_CODE_LIMITS, timeoutMs: 50, memoryBytes: 8 * 1024 * 1024, stackBytes: 256 * 1024 };
    expect(sandbox.run(request('function main() { globalThis.x = 1; for (;;) {} }', { limits }))).toEqual({
      ok: false,
      error: 'code: timeoutMs exceeded (50 ms)',
      limit: 'timeoutMs',
      logs: [],
    });
    expect(sandbox.run(request('function main() { const a = []; for (;;) a.push({ i: a.length }) }', { limits: { ...limits, timeoutMs: 10_000 } }))).toMatchObject({ limit: 'memoryBytes' });
    expect(sandbox.run(request('function main() { const f = (n) => f(n + 1) + 1; return f(0) }', { limits }))).toMatchObject({ limit: 'stackBytes' });
    // main's own promise settles at once; the loop of jobs it left behind is dropped with the context.
    const leftBehind = 'async function main() { const spin = () => Promise.resolve().then(spin); spin(); return 1 }';
    expect(sandbox.run(request(leftBehind, { limits }))).toEqual({ ok: true, outputsJSON: '{"result":1}', logs: [] });
    expect(sandbox.usable).toBe(true);
    const after = 'async function main({ params }) { await null; return { x: globalThis.x ?? 0, y: params.x } }';
    expect(sandbox.run(request(after))).toEqual({ ok: true, outputsJSON: '{"x":0,"y":1}', logs: [] });
  });

  it('stays usable after ordinary failures', async () => {
    const sandbox = await newSandbox();
    expect(sandbox.run(request('function main() { throw new RangeError("r") }'))).toEqual({ ok: false, error: 'RangeError: r (line 1)', logs: [] });
    expect(sandbox.run(request('function main() { return "x".repeat(100) }', { limits: { ...DEFAULT_CODE_LIMITS, outputBytes: 10 } }))).toMatchObject({ limit: 'outputBytes' });
    expect(sandbox.usable).toBe(true);
  });

  it('formats console arguments like JSON and keeps unprintable ones readable', async () => {
    const sandbox = await newSandbox();
    const script = 'function main() { const cyclic = {}; cyclic.self = cyclic; console.log("a", 1, null, [true], cyclic, undefined); }';
    expect(sandbox.run(request(script)).logs).toEqual([{ level: 'log', message: 'a 1 null [true] [unprintable] undefined' }]);
  });

  it('reads the console without running script code on the way out', async () => {
    const sandbox = await newSandbox();
    const script = 'function main() { console.log("kept"); Array.prototype.toJSON = () => { for (;;) {} }; String.prototype.toJSON = () => "forged"; return 1 }';
    expect(sandbox.run(request(script))).toEqual({ ok: true, outputsJSON: '{"result":1}', logs: [{ level: 'log', message: 'kept' }] });
  });

  it('runs no script code after main returns: an Array.prototype setter cannot capture the console', async () => {
    const sandbox = await newSandbox();
    // The setter would catch the console's own list and plant getters that the host reads after main,
    // with the deadline cleared and the memory limit lifted.
    const script = [
      'let returned = false;',
      'Object.defineProperty(Array.prototype, 0, { configurable: true, set() {',
      '  Object.defineProperty(this, 0, { configurable: true, get() { return "log" } });',
      '  Object.defineProperty(this, 1, { configurable: true, get() {',
      '    let bytes; try { bytes = "x".repeat(16 * 1024 * 1024).length } catch { bytes = "refused" }',
      '    return "getter ran, main returned: " + returned + ", allocated " + bytes;',
      '  } });',
      '} });',
      'function main() { try { console.log("kept") } catch {} returned = true; return 1 }',
    ].join('\n');
    const limits = { ...DEFAULT_CODE_LIMITS, memoryBytes: 4 * 1024 * 1024 };
    expect(sandbox.run(request(script, { limits }))).toEqual({ ok: true, outputsJSON: '{"result":1}', logs: [{ level: 'log', message: 'kept' }] });
  });

  it('reads a thrown value under the memory limit (its getters run as part of the script)', async () => {
    const sandbox = await newSandbox();
    const script = 'function main() { throw { get message() { return "allocated " + "x".repeat(16 * 1024 * 1024).length } } }';
    const limits = { ...DEFAULT_CODE_LIMITS, memoryBytes: 4 * 1024 * 1024 };
    const result = sandbox.run(request(script, { limits }));
    expect(result.ok).toBe(false);
    expect(result).not.toMatchObject({ error: expect.stringContaining('allocated') });
  });

  it('reads a thrown value before the deadline is cleared', async () => {
    const sandbox = await newSandbox();
    const script = 'function main() { throw { get message() { const t = Date.now(); while (Date.now() - t < 300) {} return "late" } } }';
    const limits = { ...DEFAULT_CODE_LIMITS, timeoutMs: 100 };
    expect(sandbox.run(request(script, { limits }))).toEqual({ ok: false, error: 'code: timeoutMs exceeded (100 ms)', limit: 'timeoutMs', logs: [] });
  });

  it('serializes the result under the script\'s limits (getters and toJSON count as the script)', async () => {
    const sandbox = await newSandbox();
    const limits = { ...DEFAULT_CODE_LIMITS, timeoutMs: 100, memoryBytes: 4 * 1024 * 1024 };
    expect(sandbox.run(request('function main() { return { get a() { for (;;) {} } } }', { limits }))).toMatchObject({ ok: false, limit: 'timeoutMs' });
    expect(sandbox.run(request('function main() { return { toJSON() { return "x".repeat(16 * 1024 * 1024) } } }', { limits }))).toMatchObject({ ok: false, limit: 'memoryBytes' });
    expect(sandbox.usable).toBe(true);
  });

  it('runs TypeScript after stripping its types', async () => {
    const sandbox = await newSandbox();
    const script = 'function main({ params }: { params: { x: number } }): number { return params.x * 3 }';
    expect(sandbox.run(request(script, { language: 'typescript' }))).toMatchObject({ ok: true, outputsJSON: '{"result":3}' });
  });
});
