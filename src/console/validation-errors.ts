/** The server's validation messages, sorted to the form fields they are about. */

/**
 * `inputs.limit: must be number` (the server's validation) as `{ limit: 'must be number' }`, the rest in
 * `other`; `prefix` names the object the fields are in (`inputs` of a task, `data` of a wait node's answer).
 */
export function fieldErrors(messages: readonly string[], prefix = 'inputs'): { fields: Record<string, string>; other: string[] } {
  const fields: Record<string, string> = {};
  const other: string[] = [];
  const pattern = new RegExp(`^${prefix}\\.([^.:\\s]+)[^:]*:\\s*(.*)$`);
  for (const message of messages) {
    const match = pattern.exec(message);
    if (match && fields[match[1]] === undefined) fields[match[1]] = match[2];
    else other.push(message);
  }
  return { fields, other };
}
