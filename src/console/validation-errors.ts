/** The server's validation messages, sorted to the form fields they are about. */

/** `inputs.limit: must be number` (the server's validation) as `{ limit: 'must be number' }`, others under ''. */
export function fieldErrors(messages: readonly string[]): { fields: Record<string, string>; other: string[] } {
  const fields: Record<string, string> = {};
  const other: string[] = [];
  for (const message of messages) {
    const match = /^inputs\.([^.:\s]+)[^:]*:\s*(.*)$/.exec(message);
    if (match && fields[match[1]] === undefined) fields[match[1]] = match[2];
    else other.push(message);
  }
  return { fields, other };
}
