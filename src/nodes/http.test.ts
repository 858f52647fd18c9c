import { describe, expect, it } from 'vitest';
import { decodeBinaryBody } from './http.js';

describe('decodeBinaryBody', () => {
  it('decodes base64 data URLs byte-exact with their media type', () => {
    const { bytes, contentType } = decodeBinaryBody('data:application/pdf;base64,AAH/gA==');
    expect([...bytes]).toEqual([0, 1, 255, 128]);
    expect(contentType).toBe('application/pdf');
  });

  it('decodes percent-encoded data URLs and defaults the media type', () => {
    const { bytes, contentType } = decodeBinaryBody('data:,a%20b');
    expect(new TextDecoder().decode(bytes)).toBe('a b');
    expect(contentType).toBe('application/octet-stream');
  });

  it('sends any other text as UTF-8', () => {
    const { bytes, contentType } = decodeBinaryBody('héllo');
    expect([...bytes]).toEqual([...Buffer.from('héllo', 'utf8')]);
    expect(contentType).toBe('application/octet-stream');
  });
});
