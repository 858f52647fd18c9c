/** Asks for the server's API token once; it is kept in sessionStorage (gone when the tab closes). */
import { storeToken } from './api.js';
import { fill, h } from './dom.js';

export function tokenPrompt(root: HTMLElement, wrong: boolean, onSaved: () => void): void {
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true });
  const form = h(
    'form',
    { class: 'card token', 'aria-labelledby': 'token-title' },
    h('h2', { id: 'token-title' }, 'API token required'),
    h('p', undefined, 'This server requires its API token (FLOWGRAM_API_TOKEN). It stays in this browser tab only.'),
    wrong ? h('p', { class: 'field-error', role: 'alert' }, 'That token was not accepted.') : null,
    h('label', { for: 'token' }, 'Token'),
    input,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Continue')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!input.value) return;
    storeToken(input.value);
    onSaved();
  });
  fill(root, form);
  input.focus();
}
