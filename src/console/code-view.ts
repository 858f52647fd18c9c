/** A code node's script with line numbers, the line its error names marked and scrolled to. */
import { h } from './dom.js';

export function codeView(source: string, language: string, marked: number | undefined): HTMLElement {
  const lines = source.split('\n');
  const list = h(
    'ol',
    { class: 'code', 'aria-label': `${language} script` },
    lines.map((line, index) =>
      h('li', index + 1 === marked ? { class: 'marked', 'data-testid': 'error-line', title: 'The error was raised here' } : undefined, line === '' ? ' ' : line),
    ),
  );
  if (marked !== undefined) {
    // Once on the page: show the marked line inside the script's own scroll box, not the page.
    requestAnimationFrame(() => {
      const line = list.children[marked - 1] as HTMLElement | undefined;
      if (line) list.scrollTop = Math.max(0, line.offsetTop - list.clientHeight / 3);
    });
  }
  return list;
}
