/**
 * Prints the heap growth (bytes, after full GCs) of `validateInputs` over N distinct declarations, for
 * the bounded-validator-cache test. Run: node --expose-gc --import tsx test/helpers/validator-memory.ts <N>
 */
import { validateInputs } from '../../src/schema/validate-inputs.js';

const count = Number(process.argv[2] ?? 1000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const declaration = (i: number): Parameters<typeof validateInputs>[0] => ({ type: 'object', properties: { [`field_${i}`]: { type: 'string' }, n: { type: 'integer' } }, required: [`field_${i}`] });
// Warm up: ajv's own modules, formats and first compilations are not what is measured.
for (let i = 0; i < 300; i++) validateInputs(declaration(-i - 1), {});
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < count; i++) validateInputs(declaration(i), { [`field_${i}`]: 'x' });
gc();
gc();
process.stdout.write(`${JSON.stringify({ growth: process.memoryUsage().heapUsed - before })}\n`);
