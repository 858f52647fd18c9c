/** What every page of the console gets, and how it reports a failed API call. */
import type { Api } from './api.js';
import { ApiError } from './api.js';
import { h } from './dom.js';

export interface PageContext {
  api: Api;
  /** The element the page renders into. */
  root: HTMLElement;
  /** Runs when the page is left (streams, timers). */
  onLeave(cleanup: () => void): void;
  /** Shows a failed API call; a 401 asks for the token. */
  fail(error: unknown): void;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

export function badge(status: string, label: string): HTMLElement {
  return h('span', { class: `badge status-${status}` }, label);
}

export function section(title: string, ...content: Array<Node | string | null | undefined | false>): HTMLElement {
  return h('section', { class: 'panel-section' }, h('h3', undefined, title), ...content);
}
