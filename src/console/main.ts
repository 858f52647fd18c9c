/**
 * The console's entry: reads its configuration from the page, routes by the URL's hash
 * (`#/runs`, `#/task/<id>`, `#/new`) and asks for the API token when the server wants one.
 */
import { Api, ApiError, storeToken, storedToken } from './api.js';
import { fill, h } from './dom.js';
import { errorText, type PageContext } from './page.js';
import { parseRunsFilter, runsPage } from './runs-page.js';
import { startPage } from './start-page.js';
import { applyStyles } from './styles.js';
import { tokenPrompt } from './token-prompt.js';
import { viewerPage } from './viewer-page.js';

interface ConsoleConfig {
  apiBase: string;
}

function readConfig(): ConsoleConfig {
  const text = document.getElementById('console-config')?.textContent ?? '{}';
  const config = JSON.parse(text) as Partial<ConsoleConfig>;
  return { apiBase: typeof config.apiBase === 'string' ? config.apiBase : '/api' };
}

const api = new Api(readConfig().apiBase);
applyStyles();

const main = h('main', { id: 'main', tabindex: -1 });
const signOut = h('button', { type: 'button', class: 'link' }, 'Forget token');
signOut.addEventListener('click', () => {
  storeToken(null);
  route();
});
document.body.replaceChildren(
  h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
  h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/runs' }, 'FlowGram runtime'),
    h('nav', { 'aria-label': 'Main' }, h('a', { href: '#/runs' }, 'Runs'), h('a', { href: '#/new' }, 'Start a run')),
    signOut,
  ),
  main,
);

let leave: Array<() => void> = [];
let generation = 0;

function fail(error: unknown): void {
  if (error instanceof DOMException && error.name === 'AbortError') return;
  if (error instanceof ApiError && error.status === 401) {
    const wrong = storedToken() !== null;
    storeToken(null);
    cleanup();
    tokenPrompt(main, wrong, route);
    return;
  }
  fill(main, h('div', { class: 'banner error', role: 'alert' }, h('strong', undefined, 'Something went wrong'), h('span', undefined, errorText(error))), h('p', undefined, h('a', { href: '#/runs' }, 'Back to the runs')));
}

function cleanup(): void {
  for (const done of leave) done();
  leave = [];
}

function route(): void {
  cleanup();
  const current = ++generation;
  const context: PageContext = {
    api,
    root: main,
    onLeave: (done) => (current === generation ? leave.push(done) : done()),
    fail: (error) => current === generation && fail(error),
  };
  signOut.hidden = storedToken() === null;
  const hash = location.hash.replace(/^#/, '') || '/runs';
  const [path, search = ''] = hash.split('?', 2);
  const params = new URLSearchParams(search);
  let page: Promise<void>;
  if (path.startsWith('/task/')) page = viewerPage(context, decodeURIComponent(path.slice('/task/'.length)));
  else if (path === '/new') page = startPage(context, params.get('from') ?? undefined);
  else page = runsPage(context, parseRunsFilter(params));
  page.catch(context.fail);
}

window.addEventListener('hashchange', route);
route();
