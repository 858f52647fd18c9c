import { ErrorCodes, FlowgramError } from '../errors.js';

function tooLarge(limitName: string, maxBytes: number, seen: string): FlowgramError {
  return new FlowgramError(ErrorCodes.LIMIT_EXCEEDED, `${limitName}: the response body ${seen} exceeds the limit of ${maxBytes} bytes`);
}

/**
 * Reads a response body, refusing it (FLOWGRAM_ERR_LIMIT_EXCEEDED naming `limitName`) as soon as it
 * grows past `maxBytes`: a declared Content-Length is refused before reading, and a streamed body is
 * cut off at the first chunk over the cap, so a huge reply never sits in memory.
 */
export async function readBodyCapped(response: Response, maxBytes: number, limitName: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(limitName, maxBytes, `(Content-Length ${declared})`);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limitName, maxBytes, `(over ${total} bytes so far)`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
