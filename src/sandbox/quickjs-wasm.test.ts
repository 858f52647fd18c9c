import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryLayout, quickJSWasmFile } from './quickjs-wasm.js';

describe('memoryLayout', () => {
  it('reads static data and heap base from the QuickJS binary: data, a 5 MiB stack, then the heap', () => {
    const layout = memoryLayout(readFileSync(quickJSWasmFile()));
    expect(layout.heapBase - layout.staticEnd).toBe(5 * 1024 * 1024);
    expect(layout.staticEnd).toBeGreaterThan(0);
  });

  it('refuses a binary whose layout it cannot vouch for', () => {
    // A module with one global (mutable i32 = 5 MiB + 64 KiB) and no code that sets up a 5 MiB stack.
    const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const globals = [0x06, 0x09, 0x01, 0x7f, 0x01, 0x41, 0x80, 0x80, 0xc4, 0x02, 0x0b];
    expect(() => memoryLayout(Uint8Array.from([...header, ...globals]))).toThrow(/unexpected memory layout/);
    expect(() => memoryLayout(Uint8Array.from(header))).toThrow(/no stack pointer global/);
  });
});
