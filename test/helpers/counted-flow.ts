/**
 * The durability tests' workflow: start(fail) → GET /echo?step=before → code (throws while `fail`) →
 * GET /echo?step=after → end. The echo server counts the calls of the HTTP nodes on either side of the
 * node that fails, so a test sees which nodes ran again. `loopFlow` adds a loop over items between them.
 */
import type { EchoServer } from './echo-server.js';

const meta = { position: { x: 0, y: 0 } };
const httpOutputs = { type: 'object', properties: { statusCode: { type: 'integer' }, body: { type: 'string' } } };

export function httpNode(id: string, url: string): Record<string, unknown> {
  return {
    id,
    type: 'http',
    meta,
    data: { title: id, outputs: httpOutputs, api: { method: 'GET', url: { type: 'template', content: url } }, body: { bodyType: 'none' }, timeout: { timeout: 60_000, retryTimes: 0 } },
  };
}

export function countedFlow(origin: string): Record<string, unknown> {
  return {
    nodes: [
      { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: { type: 'object', properties: { fail: { type: 'boolean' } } } } },
      httpNode('before', `${origin}/echo?step=before`),
      {
        id: 'code_0',
        type: 'code',
        meta,
        data: {
          title: 'Code',
          inputs: { type: 'object', properties: { fail: { type: 'boolean' }, status: { type: 'integer' } } },
          inputsValues: { fail: { type: 'ref', content: ['start_0', 'fail'] }, status: { type: 'ref', content: ['before', 'statusCode'] } },
          outputs: { type: 'object', properties: { checked: { type: 'integer' } } },
          script: {
            language: 'javascript',
            content: "async function main({ params }) { if (params.fail) throw new Error('failing as asked'); return { checked: params.status }; }",
          },
        },
      },
      httpNode('after', `${origin}/echo?step=after`),
      {
        id: 'end_0',
        type: 'end',
        meta,
        data: {
          title: 'End',
          inputs: { type: 'object', properties: { checked: { type: 'integer' }, after: { type: 'integer' } } },
          inputsValues: { checked: { type: 'ref', content: ['code_0', 'checked'] }, after: { type: 'ref', content: ['after', 'statusCode'] } },
        },
      },
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'before' },
      { sourceNodeID: 'before', targetNodeID: 'code_0' },
      { sourceNodeID: 'code_0', targetNodeID: 'after' },
      { sourceNodeID: 'after', targetNodeID: 'end_0' },
    ],
  };
}

/** Calls of the counted nodes so far: `{ before, after }`. */
export function stepCalls(echo: EchoServer): { before: number; after: number } {
  const steps = echo.requestsTo('/echo').map((request) => request.query.get('step'));
  return { before: steps.filter((step) => step === 'before').length, after: steps.filter((step) => step === 'after').length };
}

/** start → GET before → loop over items (GET each, slowly) → GET after → end(bodies, after). */
export function loopFlow(origin: string): Record<string, unknown> {
  const strings = { type: 'array', items: { type: 'string' } };
  return {
    nodes: [
      { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: { type: 'object', properties: { items: strings } } } },
      httpNode('before', `${origin}/echo?step=before`),
      {
        id: 'loop',
        type: 'loop',
        meta,
        data: { title: 'Loop', loopFor: { type: 'ref', content: ['start_0', 'items'] }, loopOutputs: { bodies: { type: 'ref', content: ['fetch', 'body'] } } },
        blocks: [{ id: 'bs', type: 'block-start', meta, data: {} }, httpNode('fetch', `${origin}/echo?item={{loop_locals.item}}&delay=150`), { id: 'be', type: 'block-end', meta, data: {} }],
        edges: [
          { sourceNodeID: 'bs', targetNodeID: 'fetch' },
          { sourceNodeID: 'fetch', targetNodeID: 'be' },
        ],
      },
      httpNode('after', `${origin}/echo?step=after`),
      {
        id: 'end_0',
        type: 'end',
        meta,
        data: {
          title: 'End',
          inputs: { type: 'object', properties: { bodies: strings, after: { type: 'string' } } },
          inputsValues: { bodies: { type: 'ref', content: ['loop', 'bodies'] }, after: { type: 'ref', content: ['after', 'body'] } },
        },
      },
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'before' },
      { sourceNodeID: 'before', targetNodeID: 'loop' },
      { sourceNodeID: 'loop', targetNodeID: 'after' },
      { sourceNodeID: 'after', targetNodeID: 'end_0' },
    ],
  };
}

/** Requests the echo server got at /echo, by their `step` or `item`. */
export function callsByStep(echo: EchoServer): Map<string, number> {
  const out = new Map<string, number>();
  for (const request of echo.requestsTo('/echo')) {
    const key = request.query.get('step') ?? request.query.get('item') ?? '?';
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** Resolves once the loop flow has requested `item` (polling every 5 ms, at most `ms`). */
export async function waitForItem(echo: EchoServer, item: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!echo.requestsTo('/echo').some((request) => request.query.get('item') === item)) {
    if (Date.now() > deadline) throw new Error(`no request for ${item} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
