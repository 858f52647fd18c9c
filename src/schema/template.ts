/** `{{node.key.path}}` placeholders of a template value. */
const PLACEHOLDER = /\{\{([^}]+)\}\}/g;

/** Text and ref paths alternating: [text, path, text, …, text]. */
export type TemplateParts = Array<string | string[]>;

/** Splits a template at its placeholders; each placeholder becomes its ref path (`[node, key, ...path]`). */
export function splitTemplate(template: string): TemplateParts {
  const parts: TemplateParts = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, match.index), match[1].trim().split('.'));
    last = match.index + match[0].length;
  }
  parts.push(template.slice(last));
  return parts;
}
