import { newQuickJSWASMModule, RELEASE_SYNC, type QuickJSWASMModule } from 'quickjs-emscripten';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CODE_LIMITS } from './limits.js';
import { QuickJSSandbox, type SandboxRequest } from './quickjs-sandbox.js';

let module: QuickJSWASMModule;

beforeAll(async () => {
  module = await newQuickJSWASMModule(RELEASE_SYNC);
});

function request(source: string, overrides: Partial<SandboxRequest> = {}): SandboxRequest {
  return { language: 'javascript', source, paramsJSON: '{"x":1}', limits: DEFAULT_CODE_LIMITS, ...overrides };
}

describe('QuickJSSandbox (in-process)', () => {
  it('returns the outputs as JSON text, wrapping non-objects in result', () => {
    const sandbox = new QuickJSSandbox(module);
    expect(sandbox.run(request('function main({ params }) { return { y: params.x + 1 } }'))).toEqual({ ok: true, outputsJSON: '{"y":2}', logs: [] });
    expect(sandbox.run(request('const main = () => [1]'))).toEqual({ ok: true, outputsJSON: '{"result":[1]}', logs: [] });
  });

  it('gives every execution its own context, prepared ahead or not', () => {
    const sandbox = new QuickJSSandbox(module);
    const script = 'function main() { globalThis.n = (globalThis.n ?? 0) + 1; return globalThis.n }';
    expect(sandbox.run(request(script))).toMatchObject({ outputsJSON: '{"result":1}' });
    sandbox.prepare();
    expect(sandbox.run(request(script))).toMatchObject({ outputsJSON: '{"result":1}' });
    expect(sandbox.run(request(script))).toMatchObject({ outputsJSON: '{"result":1}' });
  });

  it('retires itself after a timeout (an interrupted runtime is not freed)', () => {
    const sandbox = new QuickJSSandbox(module);
    const result = sandbox.run(request('function main() { for (;;) {} }', { limits: { ...DEFAULT_CODE_LIMITS, timeoutMs: 50 } }));
    expect(result).toEqual({ ok: false, error: 'code: timeoutMs exceeded (50 ms)', limit: 'timeoutMs', logs: [] });
    expect(sandbox.usable).toBe(false);
    expect(sandbox.run(request('function main() {}'))).toEqual({ ok: false, error: 'code: the sandbox is restarting, try again', logs: [] });
  });

  it('stays usable after ordinary failures', () => {
    const sandbox = new QuickJSSandbox(module);
    expect(sandbox.run(request('function main() { throw new RangeError("r") }'))).toEqual({ ok: false, error: 'RangeError: r', logs: [] });
    expect(sandbox.run(request('function main() { return "x".repeat(100) }', { limits: { ...DEFAULT_CODE_LIMITS, outputBytes: 10 } }))).toMatchObject({ limit: 'outputBytes' });
    expect(sandbox.usable).toBe(true);
  });

  it('formats console arguments like JSON and keeps unprintable ones readable', () => {
    const sandbox = new QuickJSSandbox(module);
    const script = 'function main() { const cyclic = {}; cyclic.self = cyclic; console.log("a", 1, null, [true], cyclic, undefined); }';
    expect(sandbox.run(request(script)).logs).toEqual([{ level: 'log', message: 'a 1 null [true] [unprintable] undefined' }]);
  });

  it('runs TypeScript after stripping its types', () => {
    const sandbox = new QuickJSSandbox(module);
    const script = 'function main({ params }: { params: { x: number } }): number { return params.x * 3 }';
    expect(sandbox.run(request(script, { language: 'typescript' }))).toMatchObject({ ok: true, outputsJSON: '{"result":3}' });
  });
});
