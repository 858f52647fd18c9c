import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors.js';
import { checkDeclaration } from './declaration.js';

const paths = (declaration: unknown): string[] => checkDeclaration(declaration, 'outputs', 1_000).map((issue) => issue.path);

describe('checkDeclaration', () => {
  it('accepts the editor’s declarations', () => {
    const declaration = {
      type: 'object',
      properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } }, meta: { type: 'map', additionalProperties: { type: 'integer' } } },
      required: ['name'],
    };
    expect(paths(declaration)).toEqual([]);
  });

  it('names every odd shape by its path instead of failing with a TypeError later', () => {
    expect(paths({ type: 'object', properties: { a: null } })).toEqual(['outputs.properties.a']);
    expect(paths({ type: 'object', properties: [] })).toEqual(['outputs.properties']);
    expect(paths({ type: 'object', properties: { a: 'string' } })).toEqual(['outputs.properties.a']);
    expect(paths({ type: 'array', items: [{ type: 'string' }] })).toEqual(['outputs.items']);
    expect(paths({ type: 'object', required: 'a', enum: {} })).toEqual(['outputs.required', 'outputs.enum']);
    expect(paths(null)).toEqual(['outputs']);
  });

  it('checks any depth without recursion', () => {
    let declaration: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 200_000; i++) declaration = { type: 'object', properties: { a: declaration } };
    expect(() => checkDeclaration(declaration, 'outputs', Number.POSITIVE_INFINITY)).not.toThrow();
  });

  it('refuses a declaration with more properties than maxDeclarationProperties', () => {
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 40_000; i++) properties[`p${i}`] = { type: 'string' };
    expect(() => checkDeclaration({ type: 'object', properties }, 'outputs', 1_000)).toThrow(
      expect.objectContaining({ code: ErrorCodes.LIMIT_EXCEEDED, limit: 'maxDeclarationProperties' }),
    );
  });
});
