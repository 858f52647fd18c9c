import { LIMIT_NAMES, isTaskLimitName, type TaskLimits } from '../limits.js';
import { UsageError } from './load.js';

/**
 * `--limit name=value` (repeatable, or comma-separated) and FLOWGRAM_LIMITS (`name=value,…`) as task
 * limits, with the names `createRuntime({ limits })` takes; the flags win over the environment.
 */
export function limitsOption(flags: string[] | undefined, env: string | undefined): Partial<TaskLimits> {
  const limits: Partial<TaskLimits> = {};
  const entries = [...(env?.split(',') ?? []), ...(flags ?? [])].map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const [name, value, ...rest] = entry.split('=');
    if (!isTaskLimitName(name)) throw new UsageError(`--limit: unknown limit "${name}" (one of ${LIMIT_NAMES.join(', ')})`);
    const parsed = value === 'Infinity' ? Number.POSITIVE_INFINITY : Number(value);
    if (rest.length > 0 || value === undefined || value === '' || !(parsed >= 0) || (parsed !== Number.POSITIVE_INFINITY && !Number.isInteger(parsed))) {
      throw new UsageError(`--limit ${name}: must be a whole number, 0 or more, or Infinity, got "${value ?? ''}"`);
    }
    limits[name] = parsed;
  }
  return limits;
}
