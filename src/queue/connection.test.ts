import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors.js';
import { checkRedisURL, probeRedis, redactRedisURL } from './connection.js';
import { compareStreamIDs } from './event-reader.js';

describe('queue URLs', () => {
  it('accepts redis:// and rediss:// URLs only', () => {
    expect(() => checkRedisURL('redis://127.0.0.1:6379')).not.toThrow();
    expect(() => checkRedisURL('rediss://user:pw@cache.example.com:6380/2')).not.toThrow();
    expect(() => checkRedisURL('http://127.0.0.1:6379')).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_REQUEST }));
    expect(() => checkRedisURL('127.0.0.1:6379')).toThrow(/must start with redis:\/\/|not a URL/);
    expect(() => checkRedisURL('nonsense')).toThrow(/not a URL/);
  });

  it('never shows a password', () => {
    expect(redactRedisURL('redis://user:secret@host:6379')).toBe('redis://user:***@host:6379');
    expect(redactRedisURL('redis://host:6379')).toBe('redis://host:6379');
  });

  it('fails fast, naming the server, when nothing answers', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    await expect(probeRedis(`redis://127.0.0.1:${port}`)).rejects.toThrow(new RegExp(`^queue: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}`));
  });
});

describe('compareStreamIDs', () => {
  it('orders stream entry IDs by time, then sequence', () => {
    expect(compareStreamIDs('1700000000000-0', '1700000000000-1')).toBeLessThan(0);
    expect(compareStreamIDs('1700000000001-0', '1700000000000-9')).toBeGreaterThan(0);
    expect(compareStreamIDs('5-3', '5-3')).toBe(0);
    expect(compareStreamIDs('0-0', '1-0')).toBeLessThan(0);
  });
});
