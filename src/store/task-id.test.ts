import { describe, expect, it } from 'vitest';
import { newTaskID } from './task-id.js';

describe('newTaskID', () => {
  it('is a UUIDv7 that starts with the time', () => {
    const id = newTaskID(0x0193_5a2b_3c4d);
    expect(id).toMatch(/^01935a2b-3c4d-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts by creation time', () => {
    const ids = [newTaskID(1_000), newTaskID(2_000), newTaskID(1_700_000_000_000)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1_000 }, () => newTaskID(5)))).toHaveProperty('size', 1_000);
  });
});
