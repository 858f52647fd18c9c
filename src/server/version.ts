/**
 * The package's version, read once from package.json (two levels up from both src/server and
 * dist/server), so `--version`, `/api/info` and the OpenAPI document always agree with the release.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const packageVersion = readVersion();
