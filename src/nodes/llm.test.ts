import { describe, expect, it } from 'vitest';
import { checkLlmInputs, parseJsonReply } from './llm.js';

const valid = { modelName: 'm', apiKey: 'sk-1234', apiHost: 'http://127.0.0.1:1/v1', temperature: 0, prompt: 'hi' };

describe('checkLlmInputs', () => {
  it('accepts temperature 0 and names every missing input at once', () => {
    expect(checkLlmInputs(valid).temperature).toBe(0);
    expect(() => checkLlmInputs({})).toThrow('LLM node missing required inputs: "modelName", "temperature", "apiKey", "apiHost", "prompt"');
  });

  it('rejects bad hosts, formats and token counts without echoing the key', () => {
    for (const [patch, message] of [
      [{ apiHost: 'ftp://x' }, 'must use http or https'],
      [{ apiHost: '::' }, 'is not a valid URL'],
      [{ responseFormat: 'xml' }, 'responseFormat must be "json" or "text"'],
      [{ maxTokens: 1.5 }, 'maxTokens must be a positive integer'],
    ] as const) {
      expect(() => checkLlmInputs({ ...valid, ...patch })).toThrow(message);
      try {
        checkLlmInputs({ ...valid, ...patch });
      } catch (error) {
        expect((error as Error).message).not.toContain(valid.apiKey);
      }
    }
  });
});

describe('parseJsonReply', () => {
  it('parses plain and fenced JSON', () => {
    expect(parseJsonReply('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonReply('```json\n{"a":[1,2]}\n```')).toEqual({ a: [1, 2] });
  });

  it('fails clearly on prose, redacting the key if the model echoed it', () => {
    expect(() => parseJsonReply('sure! sk-secret-key', 'sk-secret-key')).toThrow(/not valid JSON.*\[redacted\]/);
  });
});
