import { describe, expect, it } from 'vitest';
import { moveLiteralSecrets } from './literals.js';

const secretInputs = (type: string): readonly string[] | undefined => (type === 'llm' ? ['apiKey'] : undefined);
const nameFor = (value: string): string => `literal_${value.length}`;

describe('moveLiteralSecrets', () => {
  it('moves constants of secret inputs and credential headers, inside loops too, and leaves the input unchanged', () => {
    const schema = {
      nodes: [
        { id: 'llm_0', type: 'llm', data: { inputsValues: { apiKey: { type: 'constant', content: 'sk-1234' }, prompt: { type: 'constant', content: 'hi' } } } },
        {
          id: 'loop_0',
          type: 'loop',
          blocks: [
            {
              id: 'http_0',
              type: 'http',
              data: {
                headersValues: {
                  Authorization: { type: 'template', content: 'Bearer abcdefgh' },
                  'X-Api-Key': { type: 'constant', content: 'k-12' },
                  Accept: { type: 'constant', content: 'text/plain' },
                  Cookie: { type: 'template', content: 'id={{start_0.id}}' },
                },
              },
            },
          ],
        },
      ],
      edges: [],
    };
    const before = JSON.stringify(schema);
    const { schema: moved, literals } = moveLiteralSecrets(schema, secretInputs, nameFor);
    expect(JSON.stringify(schema)).toBe(before);
    expect(literals).toEqual([
      { name: 'literal_7', value: 'sk-1234' },
      { name: 'literal_15', value: 'Bearer abcdefgh' },
      { name: 'literal_4', value: 'k-12' },
    ]);
    const nodes = (moved as typeof schema).nodes;
    expect(nodes[0].data?.inputsValues).toEqual({ apiKey: { type: 'ref', content: ['secrets', 'literal_7'] }, prompt: { type: 'constant', content: 'hi' } });
    expect(nodes[1].blocks?.[0].data.headersValues).toEqual({
      Authorization: { type: 'ref', content: ['secrets', 'literal_15'] },
      'X-Api-Key': { type: 'ref', content: ['secrets', 'literal_4'] },
      Accept: { type: 'constant', content: 'text/plain' },
      Cookie: { type: 'template', content: 'id={{start_0.id}}' },
    });
  });

  it('returns the very schema when there is nothing to move', () => {
    const schema = { nodes: [{ id: 'llm_0', type: 'llm', data: { inputsValues: { apiKey: { type: 'ref', content: ['secrets', 'K'] } } } }], edges: [] };
    expect(moveLiteralSecrets(schema, secretInputs, nameFor)).toEqual({ schema, literals: [] });
    expect(moveLiteralSecrets({ nodes: 'nope' }, secretInputs, nameFor).literals).toEqual([]);
  });
});
