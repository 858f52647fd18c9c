import { readFileSync } from 'node:fs';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';

/** A source of secrets read once, when the runtime starts: a name → value map. */
export type SecretValues = ReadonlyMap<string, string>;

export const ENV_PREFIX = 'FLOWGRAM_SECRET_';
/** The encryption key's variable shares the prefix; it is never a secret workflows can read. */
export const SECRET_KEY_ENV = 'FLOWGRAM_SECRET_KEY';

/** Secret names: what an environment variable and a template placeholder both accept. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new FlowgramError(ErrorCodes.BAD_REQUEST, `secret name "${name.slice(0, 140)}": use letters, digits and _ (not starting with a digit), at most 128`);
  }
}

/** `FLOWGRAM_SECRET_<NAME>` variables, as `NAME` (the key variable excluded). */
export function environmentSecrets(env: NodeJS.ProcessEnv = process.env): SecretValues {
  const values = new Map<string, string>();
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || variable === SECRET_KEY_ENV || value === undefined) continue;
    const name = variable.slice(ENV_PREFIX.length);
    if (SECRET_NAME.test(name)) values.set(name, value);
  }
  return values;
}

/** A secrets file: a JSON object of strings, or dotenv lines (`NAME=value`, `#` comments, optional quotes). */
export function fileSecrets(path: string): SecretValues {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FlowgramError(ErrorCodes.BAD_REQUEST, `secrets file ${path}: ${errorMessage(error)}`, { cause: error });
  }
  return parseSecretsFile(text, path);
}

export function parseSecretsFile(text: string, source: string): SecretValues {
  const values = new Map<string, string>();
  const add = (name: string, value: unknown, where: string): void => {
    // The message names where, never the value.
    if (!SECRET_NAME.test(name)) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `secrets file ${source}: ${where}: "${name.slice(0, 140)}" is not a valid secret name`);
    if (typeof value !== 'string') throw new FlowgramError(ErrorCodes.BAD_REQUEST, `secrets file ${source}: ${where}: the value of ${name} must be a string`);
    values.set(name, value);
  };
  if (text.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new FlowgramError(ErrorCodes.BAD_REQUEST, `secrets file ${source}: not valid JSON`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new FlowgramError(ErrorCodes.BAD_REQUEST, `secrets file ${source}: must be a JSON object of strings`);
    }
    for (const [name, value] of Object.entries(parsed)) add(name, value, `key "${name.slice(0, 140)}"`);
    return values;
  }
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `secrets file ${source}: line ${index + 1}: expected NAME=value`);
    let value = match[2];
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    add(match[1], value, `line ${index + 1}`);
  });
  return values;
}
