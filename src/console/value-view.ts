/** A JSON value as readable text: long ones start collapsed behind "Show more", none is ever cut off. */
import { h } from './dom.js';

/** Values longer than this start collapsed, showing their first `SHOWN_*`. */
const COLLAPSE_CHARS = 800;
const COLLAPSE_LINES = 24;
const SHOWN_CHARS = 400;
const SHOWN_LINES = 12;

export function valueText(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

function collapsedText(text: string): string | undefined {
  const lines = text.split('\n');
  if (text.length <= COLLAPSE_CHARS && lines.length <= COLLAPSE_LINES) return undefined;
  const head = lines.slice(0, SHOWN_LINES).join('\n');
  return head.length > SHOWN_CHARS ? head.slice(0, SHOWN_CHARS) : head;
}

/** A `<pre>` with the value; strings are shown as they are, everything else as indented JSON. */
export function valueView(value: unknown, label?: string): HTMLElement {
  const text = valueText(value);
  const short = collapsedText(text);
  const pre = h('pre', { class: 'value', 'aria-label': label }, short === undefined ? text : `${short}…`);
  if (short === undefined) return pre;
  const button = h('button', { type: 'button', class: 'link' }, `Show more (${text.length - short.length} more characters)`);
  let expanded = false;
  button.addEventListener('click', () => {
    expanded = !expanded;
    pre.textContent = expanded ? text : `${short}…`;
    button.textContent = expanded ? 'Show less' : `Show more (${text.length - short.length} more characters)`;
  });
  return h('div', { class: 'value-box' }, pre, button);
}
