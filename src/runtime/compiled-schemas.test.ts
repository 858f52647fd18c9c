import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NodeExecutor } from '../engine/types.js';
import { ErrorCodes } from '../errors.js';
import { resolveLimits } from '../limits.js';
import { defaultExecutors } from '../nodes/index.js';
import { SecretStore } from '../secrets/store.js';
import { CompiledSchemas } from './compiled-schemas.js';

const helloText = readFileSync(new URL('../../examples/hello.json', import.meta.url), 'utf8');
const hello = JSON.parse(helloText) as { nodes: unknown[]; edges: unknown[] };

function compiler(options: { maxStrings?: number; maxSchemaBytes?: number; executors?: Map<string, NodeExecutor> } = {}): CompiledSchemas {
  const executors = options.executors ?? new Map(defaultExecutors().map((executor) => [executor.type, executor]));
  const limits = resolveLimits(options.maxSchemaBytes === undefined ? {} : { maxSchemaBytes: options.maxSchemaBytes });
  return new CompiledSchemas({ limits, executors, secrets: new SecretStore(), maxStrings: options.maxStrings });
}

describe('CompiledSchemas', () => {
  it('compiles a schema object once (by identity) and a schema string once (by content)', () => {
    const schemas = compiler();
    const compiled = schemas.compile(hello);
    expect(compiled.issues).toEqual([]);
    expect(compiled.document).toBeDefined();
    expect(schemas.compile(hello)).toBe(compiled);
    expect(schemas.compile(structuredClone(hello))).not.toBe(compiled);
    const fromText = schemas.compile(helloText);
    expect(schemas.compile(`${helloText}`)).toBe(fromText);
  });

  it('remembers at most maxStrings schema strings, forgetting the oldest first', () => {
    const schemas = compiler({ maxStrings: 2 });
    const texts = [0, 1, 2].map((n) => JSON.stringify({ ...hello, meta: { n } }));
    const first = texts.map((text) => schemas.compile(text));
    expect(schemas.compile(texts[2])).toBe(first[2]);
    expect(schemas.compile(texts[1])).toBe(first[1]);
    expect(schemas.compile(texts[0])).not.toBe(first[0]); // forgotten, compiled again (and forgets texts[1])
    expect(schemas.compile(texts[2])).toBe(first[2]);
  });

  it('compiles again after clear(), against the node types known then', () => {
    const executors = new Map<string, NodeExecutor>(defaultExecutors().map((executor) => [executor.type, executor]));
    const schemas = compiler({ executors });
    const custom = { ...hello, nodes: [...hello.nodes, { id: 'x', type: 'custom-node', meta: { position: { x: 0, y: 0 } }, data: {} }] };
    const before = schemas.compile(custom);
    expect(before.issues.length).toBeGreaterThan(0);
    executors.set('custom-node', { type: 'custom-node', execute: () => Promise.resolve({ outputs: {} }) });
    expect(schemas.compile(custom)).toBe(before); // cached until told the types changed
    schemas.clear();
    const after = schemas.compile(custom);
    expect(after).not.toBe(before);
    expect(after.issues.map((issue) => issue.message).join('\n')).not.toContain('custom-node');
  });

  it('refuses a schema string longer than maxSchemaBytes before parsing it', () => {
    const schemas = compiler({ maxSchemaBytes: 100 });
    expect(() => schemas.compile(`{${' '.repeat(200)}`)).toThrow(expect.objectContaining({ code: ErrorCodes.LIMIT_EXCEEDED, limit: 'maxSchemaBytes' }));
  });

  it('refuses a schema object nested deeper than maxJsonDepth, and does not remember the refusal', () => {
    const schemas = compiler();
    let deep: unknown = {};
    for (let i = 0; i < 1_000; i++) deep = { deep };
    const schema = { ...hello, meta: deep };
    expect(() => schemas.compile(schema)).toThrow(expect.objectContaining({ code: ErrorCodes.LIMIT_EXCEEDED, limit: 'maxJsonDepth' }));
    expect(() => schemas.compile(schema)).toThrow(expect.objectContaining({ code: ErrorCodes.LIMIT_EXCEEDED }));
  });
});
