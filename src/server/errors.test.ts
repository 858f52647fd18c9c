import { describe, expect, it } from 'vitest';
import { ErrorCodes, FlowgramError } from '../errors.js';
import { httpStatusFor, toHttpError } from './errors.js';

describe('httpStatusFor', () => {
  it.each([
    [ErrorCodes.SCHEMA_PARSE, 400],
    [ErrorCodes.SCHEMA_INVALID, 400],
    [ErrorCodes.INPUTS_INVALID, 400],
    [ErrorCodes.BAD_REQUEST, 400],
    [ErrorCodes.UNAUTHORIZED, 401],
    [ErrorCodes.TASK_NOT_FOUND, 404],
    [ErrorCodes.TASK_NOT_FINISHED, 409],
    [ErrorCodes.LIMIT_EXCEEDED, 429],
    [ErrorCodes.FORBIDDEN, 403],
    [ErrorCodes.SHUTTING_DOWN, 503],
    [ErrorCodes.STORE_UNAVAILABLE, 503],
    [ErrorCodes.NODE_FAILED, 500],
    [ErrorCodes.INTERNAL, 500],
  ])('%s → %i', (code, status) => {
    expect(httpStatusFor(code)).toBe(status);
  });
});

describe('toHttpError', () => {
  it('keeps a FlowgramError\'s code, message and details', () => {
    const error = new FlowgramError(ErrorCodes.SCHEMA_INVALID, 'schema: 2 problems', { details: ['a', 'b'] });
    expect(toHttpError(error)).toEqual({ status: 400, body: { code: ErrorCodes.SCHEMA_INVALID, message: 'schema: 2 problems', details: ['a', 'b'] } });
  });

  it('keeps the 4xx status of Fastify\'s body errors and names what was wrong', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(toHttpError(tooLarge)).toEqual({ status: 413, body: { code: ErrorCodes.LIMIT_EXCEEDED, message: 'body: Request body is too large' } });
    const mediaType = Object.assign(new Error('Unsupported Media Type: text/xml'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
    expect(toHttpError(mediaType).body.message).toMatch(/^content-type: /);
  });

  it('turns anything else into a 500 INTERNAL', () => {
    expect(toHttpError(new TypeError('x is undefined'))).toEqual({
      status: 500,
      body: { code: ErrorCodes.INTERNAL, message: 'internal error: x is undefined' },
    });
    expect(toHttpError(Object.assign(new Error('upstream'), { statusCode: 502 })).status).toBe(500);
  });
});
