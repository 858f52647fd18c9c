import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from './errors.js';
import { createRuntime } from './runtime.js';

const runtime = createRuntime();
afterAll(() => runtime.close());
const hello = JSON.parse(readFileSync(new URL('../examples/hello.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('a task that never runs', () => {
  it('fails with INPUTS_INVALID when only its inputs are wrong, naming each path', async () => {
    const task = runtime.start(hello, { name: 42 });
    await task.done;
    expect(task.error).toEqual({ code: ErrorCodes.INPUTS_INVALID, message: 'inputs.name: must be string' });
    await expect(task.wait()).rejects.toMatchObject({ code: ErrorCodes.INPUTS_INVALID });
  });

  it('fails with SCHEMA_INVALID when the workflow itself is wrong, whatever its inputs', async () => {
    const task = runtime.start({ ...hello, edges: 'none' }, { name: 42 });
    await task.done;
    expect(task.error?.code).toBe(ErrorCodes.SCHEMA_INVALID);
  });
});
