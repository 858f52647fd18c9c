/**
 * Vitest global setup: builds dist/ once before the suite, because the CLI tests spawn
 * `node bin/flowgram.js`, which runs the build output, and the console tests load dist/console. Skipped when dist/ is newer than every source
 * file. A type error elsewhere still emits JavaScript (tsc's default), so it is reported and the
 * suite goes on.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt(root: string): number {
  try {
    return statSync(join(root, 'dist/index.js')).mtimeMs;
  } catch {
    return 0;
  }
}

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (builtAt(root) > newestSource(join(root, 'src'))) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  // The server, CLI and SDK, then the web console's browser scripts (the console tests load them).
  for (const project of ['tsconfig.build.json', 'tsconfig.console.json']) {
    const build = spawnSync(process.execPath, [tsc, '-p', project], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) {
      process.stderr.write(`global-setup: tsc -p ${project} reported problems (dist/ was still emitted):\n${build.stdout}${build.stderr}\n`);
    }
  }
}
