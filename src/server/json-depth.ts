import type { preValidationHookHandler } from 'fastify';
import { isDeeperThan } from '../json-bounds.js';
import { limitExceeded } from '../limits.js';

/** Refuses (400, FLOWGRAM_ERR_LIMIT_EXCEEDED) a JSON body that nests deeper than `maxDepth`; checked without recursion. */
export function jsonDepthHook(maxDepth: number): preValidationHookHandler {
  return (request, _reply, done) => {
    const { body } = request;
    if (body !== null && typeof body === 'object' && isDeeperThan(body, maxDepth)) {
      done(limitExceeded('maxJsonDepth', `body: nests deeper than ${maxDepth} levels`));
      return;
    }
    done();
  };
}
