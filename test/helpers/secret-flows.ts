import type { IFlowValue } from '../../src/schema/types.js';

const meta = { position: { x: 0, y: 0 } };
const constant = (content: unknown): IFlowValue => ({ type: 'constant', content }) as IFlowValue;
const ref = (...content: string[]): IFlowValue => ({ type: 'ref', content }) as IFlowValue;
const template = (content: string): IFlowValue => ({ type: 'template', content }) as IFlowValue;
const strings = (keys: string[]): Record<string, { type: 'string' }> => Object.fromEntries(keys.map((key) => [key, { type: 'string' as const }]));

export { constant, ref, template };

export interface SecretFlowValues {
  /** The LLM node's apiKey. */
  apiKey: IFlowValue;
  /** The HTTP node's Authorization header. */
  authorization: IFlowValue;
  /** A code node parameter it returns (and logs) as is. */
  param: IFlowValue;
  /** The LLM prompt (the test server echoes it back). */
  prompt?: IFlowValue;
}

/**
 * start → llm (apiKey) → http (Authorization header, to an echo server that sends the headers back)
 * → code (a parameter it logs and returns) → end, whose outputs carry what each node echoed: a secret
 * used in any of them must come back `[redacted]`.
 */
export function secretFlow(llmBaseURL: string, echoURL: string, values: SecretFlowValues): object {
  return {
    nodes: [
      { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: { type: 'object', properties: {} } } },
      {
        id: 'llm_0',
        type: 'llm',
        meta,
        data: {
          title: 'LLM',
          inputs: { type: 'object', properties: { ...strings(['modelName', 'apiKey', 'apiHost', 'prompt']), temperature: { type: 'number' } } },
          inputsValues: {
            modelName: constant('echo'),
            apiKey: values.apiKey,
            apiHost: constant(llmBaseURL),
            temperature: constant(0),
            prompt: values.prompt ?? constant('hello'),
          },
          outputs: { type: 'object', properties: strings(['result']) },
        },
      },
      {
        id: 'http_0',
        type: 'http',
        meta,
        data: {
          title: 'HTTP',
          api: { method: 'GET', url: constant(echoURL) },
          headers: { type: 'object', properties: strings(['Authorization']) },
          headersValues: { Authorization: values.authorization },
          body: { bodyType: 'none' },
          timeout: { timeout: 10_000, retryTimes: 0 },
          outputs: { type: 'object', properties: { statusCode: { type: 'integer' }, body: { type: 'string' } } },
        },
      },
      {
        id: 'code_0',
        type: 'code',
        meta,
        data: {
          title: 'Code',
          inputs: { type: 'object', properties: strings(['key']) },
          inputsValues: { key: values.param },
          outputs: { type: 'object', properties: strings(['echo']) },
          script: { language: 'javascript', content: 'function main({ params }) { console.log("key is " + params.key); return { echo: params.key }; }' },
        },
      },
      {
        id: 'end_0',
        type: 'end',
        meta,
        data: {
          title: 'End',
          inputs: { type: 'object', properties: strings(['llm', 'http', 'code']) },
          inputsValues: { llm: ref('llm_0', 'result'), http: ref('http_0', 'body'), code: ref('code_0', 'echo') },
        },
      },
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'llm_0' },
      { sourceNodeID: 'llm_0', targetNodeID: 'http_0' },
      { sourceNodeID: 'http_0', targetNodeID: 'code_0' },
      { sourceNodeID: 'code_0', targetNodeID: 'end_0' },
    ],
  };
}
