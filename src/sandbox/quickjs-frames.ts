import { isLimitName, type ScriptLimits } from './limits.js';
import type { SandboxRequest, SandboxResult } from './quickjs-sandbox.js';
import { FrameReader, FrameWriter } from './shared-channel.js';
import type { ScriptLog } from './types.js';

/** How SandboxRequest and SandboxResult are laid out in a shared slot (see shared-channel.ts). */
const LIMIT_ORDER = ['timeoutMs', 'memoryBytes', 'stackBytes', 'outputBytes', 'consoleBytes'] as const satisfies ReadonlyArray<keyof ScriptLimits>;

export function encodeSandboxRequest(request: SandboxRequest, bytes: Uint8Array): number | undefined {
  const writer = new FrameWriter(bytes).string(request.language).string(request.source).string(request.paramsJSON);
  for (const key of LIMIT_ORDER) writer.number(request.limits[key]);
  return writer.end();
}

export function decodeSandboxRequest(bytes: Uint8Array): SandboxRequest {
  const reader = new FrameReader(bytes);
  const language = reader.string() === 'typescript' ? 'typescript' : 'javascript';
  const source = reader.string();
  const paramsJSON = reader.string();
  const limits = {} as ScriptLimits;
  for (const key of LIMIT_ORDER) limits[key] = reader.number();
  return { language, source, paramsJSON, limits };
}

export function encodeSandboxResult(result: SandboxResult, bytes: Uint8Array): number | undefined {
  const writer = new FrameWriter(bytes);
  if (result.ok) writer.number(1).string(result.outputsJSON);
  else writer.number(0).string(result.error).string(result.limit ?? '');
  writer.number(result.logs.length);
  for (const log of result.logs) writer.string(log.level).string(log.message);
  return writer.end();
}

export function decodeSandboxResult(bytes: Uint8Array): SandboxResult {
  const reader = new FrameReader(bytes);
  const ok = reader.number() === 1;
  const text = reader.string();
  const limit = ok ? '' : reader.string();
  const logs: ScriptLog[] = [];
  for (let count = reader.number(); count > 0; count--) logs.push({ level: reader.string() as ScriptLog['level'], message: reader.string() });
  if (ok) return { ok, outputsJSON: text, logs };
  return isLimitName(limit) ? { ok, error: text, limit, logs } : { ok, error: text, logs };
}
