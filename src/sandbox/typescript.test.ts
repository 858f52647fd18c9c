import { describe, expect, it } from 'vitest';
import { stripTypes } from './typescript.js';

describe('stripTypes', () => {
  it('removes annotations, interfaces and casts and keeps line numbers', () => {
    const source = 'interface P { x: number }\nfunction main({ params }: { params: P }): number {\n  return params.x as number;\n}';
    const code = stripTypes(source);
    expect(code).not.toMatch(/interface|: number|as number/);
    expect(code.split('\n')).toHaveLength(source.split('\n').length);
    expect(code.split('\n')[1]).toBe('function main({ params }) {');
  });

  it('returns the same text for the same source (cached)', () => {
    const source = 'const main = (a: string) => a;';
    expect(stripTypes(source)).toBe(stripTypes(source));
  });

  it('throws a SyntaxError that names the position', () => {
    expect(() => stripTypes('function main(: {')).toThrow(SyntaxError);
    expect(() => stripTypes('function main(: {')).toThrow(/^TypeScript: Unexpected token \(1:\d+\)$/);
  });
});
