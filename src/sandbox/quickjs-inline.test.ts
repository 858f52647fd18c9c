import { beforeAll, describe, expect, it } from 'vitest';
import { ABUSE_SCRIPTS } from '../../test/fixtures/code-abuse.js';
import { DEFAULT_CODE_LIMITS } from './limits.js';
import { INLINE_MAX_INPUT, InlineQuickJS } from './quickjs-inline.js';
import type { SandboxRequest, SandboxResult } from './quickjs-sandbox.js';

let inline: InlineQuickJS;

beforeAll(async () => {
  inline = await InlineQuickJS.create();
});

function request(source: string, overrides: Partial<SandboxRequest> = {}): SandboxRequest {
  return { language: 'javascript', source, paramsJSON: '{"x":1}', limits: DEFAULT_CODE_LIMITS, ...overrides };
}

/**
 * Operations QuickJS runs in C without polling its interrupt handler: without the polling build each
 * of these holds the thread for seconds to hours. (The abuse set has more: typed-array sort, join,
 * regex backtracking.)
 */
const NON_POLLING = [
  'function main() { return new Array(1e8).join("").length }',
  'function main() { return Array.prototype.indexOf.call({ length: 2 ** 53 - 1 }, 1) }',
  'function main() { return Array.prototype.includes.call({ length: 2 ** 53 - 1 }, 1) }',
  'function main() { return Array.prototype.lastIndexOf.call({ length: 2 ** 53 - 1 }, 1) }',
  'function main() { return Array.prototype.copyWithin.call({ length: 1e12 }, 0, 1).length }',
  'function main() { const a = new Uint8Array(4e6); for (;;) a.fill(1) }',
  'function main() { const a = new Float64Array(5e5); for (;;) a.sort().reverse() }',
  'function main() { return String(7n ** 3000000n).length }',
  'function main() { const s = "\\u1E9B\\u0323".repeat(2e5); for (;;) s.normalize("NFKC") }',
];

/**
 * The answer of the first attempt that fits the budget: on a loaded machine (or the first time a
 * code path of QuickJS is compiled) a short script may still overrun 1 ms now and then.
 */
function answered(source: string, overrides: Partial<SandboxRequest> = {}): SandboxResult | undefined {
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = inline.try(request(source, overrides));
    if (result) return result;
  }
  return undefined;
}

describe('InlineQuickJS (scripts tried on the main thread)', () => {
  it('answers a short script itself, with its logs, and a failure the script caused', () => {
    const before = inline.counts.inline;
    expect(answered('function main({ params }) { console.log("hi"); return { y: params.x + 1 } }')).toEqual({
      ok: true,
      outputsJSON: '{"y":2}',
      logs: [{ level: 'log', message: 'hi' }],
    });
    expect(answered('function main() { throw new TypeError("t") }')).toEqual({ ok: false, error: 'TypeError: t (line 1)', logs: [] });
    expect(answered('function main() { return new Promise(() => {}) }')).toMatchObject({ ok: false, error: 'main returned a promise that never settles' });
    expect(inline.counts.inline).toBe(before + 3);
  });

  it('hands every script of the abuse set and every non-polling operation to a worker, each within a bounded stretch', () => {
    let longest = 0;
    for (const source of [...ABUSE_SCRIPTS.map((script) => script.source), ...NON_POLLING]) {
      const started = performance.now();
      expect(inline.try(request(source)), source).toBeUndefined();
      longest = Math.max(longest, performance.now() - started);
    }
    // The budget is 1 ms; without the polling build the slowest of these takes minutes. Generous for a loaded machine.
    expect(longest).toBeLessThan(250);
  });

  it('sends to a worker what would be limited differently there: more memory (even if the script catches the error), more output, large inputs, TypeScript', () => {
    expect(inline.try(request('function main() { try { return "x".repeat(2 ** 24).length } catch { return "caught" } }'))).toBeUndefined();
    expect(inline.try(request('function main() { return "x".repeat(100) }', { limits: { ...DEFAULT_CODE_LIMITS, outputBytes: 10 } }))).toBeUndefined();
    expect(inline.try(request('function main({ params }) { return params.s.length }', { paramsJSON: JSON.stringify({ s: 'x'.repeat(INLINE_MAX_INPUT) }) }))).toBeUndefined();
    expect(inline.try(request('function main(): number { return 1 }', { language: 'typescript' }))).toBeUndefined();
    expect(answered('function main() { return "fits" }')).toMatchObject({ ok: true, outputsJSON: '{"result":"fits"}' });
  });

  it('starts every attempt from the fresh context, also after one stopped in the middle of C code', () => {
    const tamper = 'function main() { globalThis.leak = 1; Object.prototype.polluted = 1; Array.prototype.join = null; return 1 }';
    // Stopped by the host while QuickJS is inside its C join (no interrupt check there).
    const stopped = 'function main() { globalThis.leak = 1; Object.prototype.polluted = 1; return new Array(1e8).join("") }';
    const look = 'function main() { return { leak: globalThis.leak ?? 0, polluted: ({}).polluted ?? 0, join: typeof [].join } }';
    for (let round = 0; round < 3; round++) {
      expect(answered(tamper)).toMatchObject({ ok: true });
      expect(answered(look)).toMatchObject({ ok: true, outputsJSON: '{"leak":0,"polluted":0,"join":"function"}' });
      expect(inline.try(request(stopped))).toBeUndefined();
      expect(answered(look)).toMatchObject({ ok: true, outputsJSON: '{"leak":0,"polluted":0,"join":"function"}' });
    }
  });

  it('gives every attempt its own Math.random sequence', () => {
    const script = 'function main() { return [Math.random(), Math.random()] }';
    const draws = Array.from({ length: 5 }, () => (answered(script) as { outputsJSON: string }).outputsJSON);
    expect(new Set(draws).size).toBe(5);
  });

  it('runs no script code after main: a getter planted for the console is never read', () => {
    const script = [
      'Object.defineProperty(Array.prototype, 0, { configurable: true, set() {',
      '  Object.defineProperty(this, 0, { configurable: true, get() { for (;;) {} } });',
      '} });',
      'function main() { console.log("kept"); return 1 }',
    ].join('\n');
    expect(answered(script)).toEqual({ ok: true, outputsJSON: '{"result":1}', logs: [{ level: 'log', message: 'kept' }] });
  });
});
