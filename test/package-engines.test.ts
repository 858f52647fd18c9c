/**
 * `npm ci` on the oldest Node.js the package supports prints no EBADENGINE warning: every package the
 * lockfile installs accepts that Node.js major (some of fastify's newest dependencies need Node 22, so
 * they are pinned in package.json).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/** npm's own range semantics (semver is installed with fastify; only these two functions are used). */
const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { major: number } | null;
  intersects(a: string, b: string): boolean;
};

const root = new URL('..', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

describe('package-lock.json', () => {
  it('installs only packages that run on the oldest Node.js major the package supports', () => {
    const oldest = semver.minVersion(manifest.engines.node);
    expect(oldest?.major).toBe(20);
    const major = `>=${oldest?.major}.0.0 <${(oldest?.major ?? 0) + 1}.0.0`;
    const refusing = Object.entries(lock.packages)
      .filter(([path, info]) => path !== '' && !Array.isArray(info.engines) && info.engines?.node && !semver.intersects(info.engines.node, major))
      .map(([path, info]) => `${path.replace(/^.*node_modules\//, '')}@${info.version} needs node ${(info.engines as { node: string }).node}`);
    expect(refusing).toEqual([]);
  });
});
