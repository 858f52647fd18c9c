import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors.js';
import { environmentSecrets, parseSecretsFile } from './providers.js';

describe('secret providers', () => {
  it('environment: FLOWGRAM_SECRET_<NAME> as NAME, without the key variable', () => {
    expect(environmentSecrets({ FLOWGRAM_SECRET_A: '1', FLOWGRAM_SECRET_KEY: 'k', OTHER: 'x', 'FLOWGRAM_SECRET_bad-name': 'y' })).toEqual(new Map([['A', '1']]));
  });

  it('file: a JSON object of strings, or dotenv lines with comments, export and quotes', () => {
    expect(parseSecretsFile('{"A": "1", "B_2": "two"}', 'f')).toEqual(new Map([['A', '1'], ['B_2', 'two']]));
    expect(parseSecretsFile('# c\n\nA=1\nexport B = "x y"\nC=\'z=z\'\nD="a\\nb"\n', 'f')).toEqual(
      new Map([['A', '1'], ['B', 'x y'], ['C', 'z=z'], ['D', 'a\nb']]),
    );
  });

  it('a bad file names the line or key, never the value', () => {
    for (const text of ['{"A": 1}', '[]', '{nope', 'A=1\njunk-without-equals', '1A=x']) {
      let caught: unknown;
      try {
        parseSecretsFile(text, 'f');
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    }
    expect(() => parseSecretsFile('GOOD=sk-hidden\nbad line', 'f')).toThrow(/line 2/);
    expect(() => parseSecretsFile('GOOD=sk-hidden\nbad line', 'f')).not.toThrow(/sk-hidden/);
  });
});
