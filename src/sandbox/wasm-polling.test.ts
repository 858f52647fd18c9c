import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quickJSWasmFile } from './quickjs-wasm.js';
import { instrumentPolling, POLL_FUNCTION, POLL_MODULE, STACK_POINTER_EXPORT } from './wasm-polling.js';

// The project's lib has no WebAssembly types.
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<object>;
  Module: {
    imports(module: object): Array<{ module: string; name: string; kind: string }>;
    exports(module: object): Array<{ name: string; kind: string }>;
  };
};

describe('instrumentPolling', () => {
  it('rewrites QuickJS into a valid module that imports the poll and exports the stack pointer, keeping every other import and export', async () => {
    const original = await WebAssembly.compile(readFileSync(quickJSWasmFile()));
    const polling = await WebAssembly.compile(await instrumentPolling(readFileSync(quickJSWasmFile())));
    expect(WebAssembly.Module.imports(polling)).toEqual([...WebAssembly.Module.imports(original), { module: POLL_MODULE, name: POLL_FUNCTION, kind: 'function' }]);
    expect(WebAssembly.Module.exports(polling)).toEqual([...WebAssembly.Module.exports(original), { name: STACK_POINTER_EXPORT, kind: 'global' }]);
  });

  it('refuses what it does not understand instead of guessing', async () => {
    await expect(instrumentPolling(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).rejects.toThrow('not a WebAssembly 1.0 module');
  });
});
