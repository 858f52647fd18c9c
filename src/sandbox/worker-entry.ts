import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * Where a worker thread's code is: the compiled `.js` (dist), or, when running from TypeScript sources
 * (vitest, tsx), a bootstrap that registers tsx in the worker and then loads the `.ts` file beside it.
 * `compiled` is the `.js` URL next to the caller, e.g. `new URL('./worker.js', import.meta.url)`.
 */
export function workerEntry(compiled: URL): { entry: URL | string; eval: boolean } {
  if (existsSync(compiled)) return { entry: compiled, eval: false };
  // The ESM build of tsx's API (require.resolve would pick its CommonJS build).
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = new URL('dist/esm/api/index.mjs', pathToFileURL(tsxPackage)).href;
  const source = compiled.href.replace(/\.js$/, '.ts');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`;
  return { entry: bootstrap, eval: true };
}
