import { describe, expect, it } from 'vitest';
import { ErrorCodes, FlowgramError } from '../errors.js';
import { readBodyCapped } from './body.js';

function streamed(chunks: number[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const size of chunks) controller.enqueue(new Uint8Array(size).fill(0x62));
      controller.close();
    },
  });
  return new Response(body);
}

describe('readBodyCapped', () => {
  it('returns the exact bytes of a body within the cap', async () => {
    const bytes = await readBodyCapped(streamed([3, 4, 5]), 12, 'test.max');
    expect(bytes.byteLength).toBe(12);
    expect([...(await readBodyCapped(new Response(new Uint8Array([0, 255, 7])), 10, 'test.max'))]).toEqual([0, 255, 7]);
  });

  it('refuses a streamed body once it passes the cap, naming the limit', async () => {
    const error = await readBodyCapped(streamed([8, 8]), 12, 'test.max').catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(FlowgramError);
    expect((error as FlowgramError).code).toBe(ErrorCodes.LIMIT_EXCEEDED);
    expect((error as FlowgramError).message).toContain('test.max');
  });

  it('refuses a declared Content-Length over the cap before reading', async () => {
    const response = new Response('x', { headers: { 'content-length': '999999' } });
    await expect(readBodyCapped(response, 10, 'test.max')).rejects.toThrow(/Content-Length 999999/);
  });
});
