import { createRequire } from 'node:module';

// Loaded on first use: most scripts are JavaScript, and workers should start fast.
const require = createRequire(import.meta.url);
let sucrase: typeof import('sucrase') | undefined;

const MAX_CACHED = 256;
/** Stripped sources by their TypeScript text: the same script usually runs many times. */
const cache = new Map<string, string>();

/**
 * Removes TypeScript syntax (annotations, interfaces, enums become JS) and keeps line numbers, so
 * errors point at the user's lines. Throws a SyntaxError naming the position when it cannot parse.
 */
export function stripTypes(source: string): string {
  const cached = cache.get(source);
  if (cached !== undefined) return cached;
  let code: string;
  try {
    // disableESTransforms: QuickJS understands modern syntax; only the types must go.
    sucrase ??= require('sucrase') as typeof import('sucrase');
    code = sucrase.transform(source, { transforms: ['typescript'], disableESTransforms: true }).code;
  } catch (error) {
    throw new SyntaxError(`TypeScript: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(source, code);
  return code;
}
