/** The workflows the scale-out tests submit (as JSON text, the way clients send them). */

const meta = { position: { x: 0, y: 0 } };
const numberSchema = { type: 'object', properties: { n: { type: 'number' } } };

/** start(n) → end(n): the smallest useful workflow. */
export const echoFlow = JSON.stringify({
  nodes: [
    { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: numberSchema } },
    { id: 'end_0', type: 'end', meta, data: { title: 'End', inputs: numberSchema, inputsValues: { n: { type: 'ref', content: ['start_0', 'n'] } } } },
  ],
  edges: [{ sourceNodeID: 'start_0', targetNodeID: 'end_0' }],
});

/** start → http GET url → end(status). */
export function httpFlow(url: string, extra: Record<string, unknown> = {}): string {
  const outputs = { type: 'object', properties: { statusCode: { type: 'integer' } } };
  return JSON.stringify({
    nodes: [
      { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: { type: 'object', properties: {} } } },
      {
        id: 'http_0',
        type: 'http',
        meta,
        data: {
          title: 'HTTP',
          outputs: { type: 'object', properties: { statusCode: { type: 'integer' }, body: { type: 'string' } } },
          api: { method: 'GET', url: { type: 'template', content: url } },
          body: { bodyType: 'none' },
          timeout: { timeout: 60_000, retryTimes: 0 },
        },
      },
      { id: 'end_0', type: 'end', meta, data: { title: 'End', inputs: outputs, inputsValues: { statusCode: { type: 'ref', content: ['http_0', 'statusCode'] } } } },
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'http_0' },
      { sourceNodeID: 'http_0', targetNodeID: 'end_0' },
    ],
    ...extra,
  });
}
