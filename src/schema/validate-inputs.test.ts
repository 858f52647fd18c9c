import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateInputs } from './validate-inputs.js';

const memoryScript = fileURLToPath(new URL('../../test/helpers/validator-memory.ts', import.meta.url));

describe('validateInputs', () => {
  it('reports each problem with its path', () => {
    const declaration = { type: 'object', properties: { name: { type: 'string' }, count: { type: 'integer' } }, required: ['name'] };
    expect(validateInputs(declaration, { count: 'many' })).toEqual(['inputs.name: is required', 'inputs.count: must be integer']);
  });

  it('keeps memory bounded however many distinct declarations it compiles (ajv forgets with its cache)', () => {
    // Unbounded, each distinct declaration kept ~7 KB in ajv (40k validations: +272 MiB): 3,000 would be ~20 MB.
    const output = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', memoryScript, '3000'], { encoding: 'utf8' });
    const { growth } = JSON.parse(output.trim().split('\n').at(-1) as string) as { growth: number };
    expect(growth).toBeLessThan(6 * 1024 * 1024);
  }, 60_000);
});
