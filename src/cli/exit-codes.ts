/**
 * The CLI's exit codes, mapped from the error catalogue in one place: 0 success, 1 the workflow (or
 * the validation it was asked for) failed, 2 bad usage or an invalid file.
 */
import { ErrorCodes, FlowgramError, type ErrorCode } from '../errors.js';
import { UsageError } from './load.js';

export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Errors that mean the user gave us something wrong, not that a workflow failed. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.SCHEMA_PARSE,
  ErrorCodes.SCHEMA_INVALID,
  ErrorCodes.INPUTS_INVALID,
  ErrorCodes.UNKNOWN_NODE_TYPE,
  ErrorCodes.UNSUPPORTED_VALUE,
  ErrorCodes.BAD_REQUEST,
  ErrorCodes.SECRET_KEY,
]);

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return ExitCode.USAGE;
  if (error instanceof FlowgramError && USAGE_CODES.has(error.code)) return ExitCode.USAGE;
  return ExitCode.FAILED;
}
