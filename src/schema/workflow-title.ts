/**
 * The name a listing shows for a workflow. flowgram.ai schemas carry no name of their own, so an
 * explicit top-level `title` (or `name`) wins, else the titles of its top-level nodes stand for it.
 */

/** Longest title kept (listings and search need no more). */
export const MAX_TITLE_LENGTH = 200;

const titles = new WeakMap<object, string>();

export function workflowTitle(schema: unknown): string {
  if (schema === null || typeof schema !== 'object') return '';
  let title = titles.get(schema);
  if (title === undefined) {
    title = clip(titleOf(schema as Record<string, unknown>));
    titles.set(schema, title);
  }
  return title;
}

function titleOf(schema: Record<string, unknown>): string {
  for (const key of ['title', 'name']) {
    const value = schema[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  if (!Array.isArray(schema.nodes)) return '';
  const names: string[] = [];
  for (const node of schema.nodes as unknown[]) {
    if (node === null || typeof node !== 'object') continue;
    const { id, data } = node as { id?: unknown; data?: { title?: unknown } };
    const name = data && typeof data === 'object' ? data.title : undefined;
    if (typeof name === 'string' || typeof name === 'number') names.push(String(name));
    else if (typeof id === 'string' || typeof id === 'number') names.push(String(id));
    if (names.join(' → ').length > MAX_TITLE_LENGTH) break;
  }
  return names.join(' → ');
}

function clip(text: string): string {
  return text.length > MAX_TITLE_LENGTH ? `${text.slice(0, MAX_TITLE_LENGTH - 1)}…` : text;
}
