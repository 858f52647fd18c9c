/** The script line an error message names (DOM-free, so tested in Node). */

/** `… (line 4)` from a code node, `line 4` from a Python traceback. */
export function errorLine(error: string | undefined): number | undefined {
  const match = error === undefined ? null : /\bline (\d+)/.exec(error);
  return match ? Number(match[1]) : undefined;
}
