/**
 * The run history: newest first, filtered by status, time range and a search of task ID or workflow
 * title, paged, with totals per status; it follows running tasks' event streams and refreshes as they end.
 */
import { fill, h } from './dom.js';
import { STATUS_LABELS, formatDateAndTime, formatDuration } from './format.js';
import { badge, type PageContext } from './page.js';
import { TASK_STATUSES, type TaskListing, type TaskStatus } from './types.js';

const PAGE_SIZE = 20;
/** Running tasks followed at once: each stream holds one of the browser's few connections per server. */
const MAX_STREAMS = 3;
const POLL_MS = 5_000;

const RANGES: Record<string, { label: string; ms?: number }> = {
  any: { label: 'Any time' },
  hour: { label: 'Last hour', ms: 3_600_000 },
  day: { label: 'Last 24 hours', ms: 86_400_000 },
  week: { label: 'Last 7 days', ms: 7 * 86_400_000 },
  custom: { label: 'Between…' },
};

export interface RunsFilter {
  status: TaskStatus | '';
  q: string;
  range: string;
  from: string;
  to: string;
  page: number;
}

export function parseRunsFilter(params: URLSearchParams): RunsFilter {
  const status = params.get('status') ?? '';
  return {
    status: (TASK_STATUSES as readonly string[]).includes(status) ? (status as TaskStatus) : '',
    q: params.get('q') ?? '',
    range: RANGES[params.get('range') ?? ''] ? (params.get('range') as string) : 'any',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    page: Math.max(0, Number.parseInt(params.get('page') ?? '0', 10) || 0),
  };
}

function filterHash(filter: RunsFilter): string {
  const params = new URLSearchParams();
  if (filter.status) params.set('status', filter.status);
  if (filter.q) params.set('q', filter.q);
  if (filter.range !== 'any') params.set('range', filter.range);
  if (filter.range === 'custom') {
    if (filter.from) params.set('from', filter.from);
    if (filter.to) params.set('to', filter.to);
  }
  if (filter.page > 0) params.set('page', String(filter.page));
  const search = params.toString();
  return `#/runs${search ? `?${search}` : ''}`;
}

function timeRange(filter: RunsFilter): { since?: number; until?: number } {
  if (filter.range === 'custom') {
    const since = filter.from ? new Date(filter.from).getTime() : NaN;
    const until = filter.to ? new Date(filter.to).getTime() : NaN;
    return { since: Number.isFinite(since) ? since : undefined, until: Number.isFinite(until) ? until : undefined };
  }
  const ms = RANGES[filter.range]?.ms;
  return ms === undefined ? {} : { since: Date.now() - ms };
}

function startedAt(ms: number): Node | string {
  if (!ms) return '—';
  const { date, time } = formatDateAndTime(ms);
  return h('time', { datetime: new Date(ms).toISOString() }, h('span', undefined, date), ' ', h('span', { class: 'time' }, time));
}

export async function runsPage(context: PageContext, filter: RunsFilter): Promise<void> {
  const { api, root } = context;
  const leaving = new AbortController();
  context.onLeave(() => leaving.abort());
  const go = (next: Partial<RunsFilter>): void => {
    location.hash = filterHash({ ...filter, page: 0, ...next });
  };

  const search = h('input', { type: 'search', id: 'runs-q', placeholder: 'Task ID or workflow title', value: filter.q, 'aria-label': 'Search by task ID or workflow title' });
  const status = h('select', { id: 'runs-status', 'aria-label': 'Status' }, h('option', { value: '' }, 'Any status'), TASK_STATUSES.map((name) => h('option', { value: name }, STATUS_LABELS[name])));
  status.value = filter.status;
  const range = h('select', { id: 'runs-range', 'aria-label': 'Time range' }, Object.entries(RANGES).map(([key, { label }]) => h('option', { value: key }, label)));
  range.value = filter.range;
  const from = h('input', { type: 'datetime-local', id: 'runs-from', 'aria-label': 'Started from', value: filter.from });
  const to = h('input', { type: 'datetime-local', id: 'runs-to', 'aria-label': 'Started before', value: filter.to });
  const custom = h('span', { class: 'custom-range' }, from, ' – ', to);
  custom.hidden = filter.range !== 'custom';
  const form = h('form', { class: 'filters', role: 'search' }, search, status, range, custom, h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    go({ q: search.value.trim(), status: status.value as RunsFilter['status'], range: range.value, from: from.value, to: to.value });
  });
  status.addEventListener('change', () => go({ status: status.value as RunsFilter['status'] }));
  range.addEventListener('change', () => {
    custom.hidden = range.value !== 'custom';
    if (range.value !== 'custom') go({ range: range.value });
  });

  const totals = h('div', { class: 'totals', role: 'group', 'aria-label': 'Totals per status' });
  const table = h('div', { class: 'table-box' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  fill(
    root,
    h('div', { class: 'runs' }, h('div', { class: 'page-head' }, h('h2', undefined, 'Runs'), h('a', { class: 'button primary', href: '#/new' }, 'Start a run')), totals, form, table, pager),
  );

  let listing: TaskListing | undefined;
  const streams = new Map<string, AbortController>();

  async function load(): Promise<void> {
    const next = await api.get<TaskListing>(
      '/tasks',
      { status: filter.status || undefined, q: filter.q || undefined, ...timeRange(filter), limit: PAGE_SIZE, offset: filter.page * PAGE_SIZE },
      leaving.signal,
    );
    // Unchanged answers leave the page alone (keyboard focus stays where it was).
    if (listing && JSON.stringify(listing) === JSON.stringify(next)) return;
    listing = next;
    render();
    follow();
  }

  function render(): void {
    if (!listing) return;
    const counts = listing.counts;
    // A server without wait nodes counts no `waiting`: no chip for it.
    const statuses = TASK_STATUSES.filter((name) => counts[name] !== undefined);
    const all = statuses.reduce((sum, name) => sum + (counts[name] ?? 0), 0);
    const chip = (name: TaskStatus | '', label: string, count: number): HTMLElement => {
      const button = h('button', { type: 'button', class: `chip status-${name || 'all'}`, 'aria-pressed': filter.status === name ? 'true' : 'false', 'data-status': name || 'all' }, `${label} `, h('strong', undefined, count));
      button.addEventListener('click', () => go({ status: name }));
      return button;
    };
    fill(totals, chip('', 'All', all), statuses.map((name) => chip(name, STATUS_LABELS[name], counts[name] ?? 0)));
    if (listing.tasks.length === 0) {
      fill(table, h('p', { class: 'empty' }, filter.q || filter.status || filter.range !== 'any' ? 'No runs match these filters.' : 'No runs yet. ', h('a', { href: '#/new' }, 'Start one')));
    } else {
      const now = Date.now();
      fill(
        table,
        h(
          'table',
          { class: 'runs-table' },
          h('thead', undefined, h('tr', undefined, h('th', undefined, 'Status'), h('th', undefined, 'Workflow'), h('th', undefined, 'Started'), h('th', undefined, 'Duration'), h('th', undefined, 'Task ID'))),
          h(
            'tbody',
            undefined,
            listing.tasks.map((task) => {
              const running = task.status === 'processing' || task.status === 'pending' || task.status === 'waiting';
              const duration = task.startTime === 0 ? '—' : formatDuration(running ? now - task.startTime : task.timeCost);
              return h(
                'tr',
                { 'data-task-id': task.id },
                h('td', undefined, badge(task.status, STATUS_LABELS[task.status])),
                h('td', { class: 'title-cell' }, h('a', { href: `#/task/${encodeURIComponent(task.id)}` }, task.title || '(untitled)'), task.error ? h('div', { class: 'row-error' }, task.error) : null),
                h('td', { class: 'started' }, startedAt(task.startTime)),
                running && task.startTime > 0 ? h('td', { 'data-started': task.startTime }, duration) : h('td', undefined, duration),
                h('td', undefined, h('a', { href: `#/task/${encodeURIComponent(task.id)}`, class: 'mono' }, task.id)),
              );
            }),
          ),
        ),
      );
    }
    const first = listing.total === 0 ? 0 : filter.page * PAGE_SIZE + 1;
    const last = filter.page * PAGE_SIZE + listing.tasks.length;
    const previous = h('button', { type: 'button', disabled: filter.page === 0 }, '← Newer');
    const next = h('button', { type: 'button', disabled: last >= listing.total }, 'Older →');
    previous.addEventListener('click', () => go({ page: filter.page - 1 }));
    next.addEventListener('click', () => go({ page: filter.page + 1 }));
    fill(pager, previous, h('span', { 'data-testid': 'range' }, `${first}–${last} of ${listing.total}`), next);
  }

  /** Follows the running tasks on the page; a task that starts or ends refreshes the list (waiting ones are polled: nothing runs). */
  function follow(): void {
    const running = (listing?.tasks ?? []).filter((task) => task.status === 'processing' || task.status === 'pending').map((task) => task.id);
    for (const [taskID, stream] of streams) {
      if (!running.includes(taskID)) {
        stream.abort();
        streams.delete(taskID);
      }
    }
    for (const taskID of running) {
      if (streams.size >= MAX_STREAMS || streams.has(taskID)) continue;
      const stream = new AbortController();
      streams.set(taskID, stream);
      leaving.signal.addEventListener('abort', () => stream.abort());
      api
        .stream(
          taskID,
          (event) => {
            if (event.type === 'workflow_finished' || event.type === 'workflow_started') refreshSoon();
          },
          stream.signal,
        )
        .catch(() => undefined)
        .finally(() => streams.delete(taskID));
    }
  }

  let soon: number | undefined;
  function refreshSoon(): void {
    if (soon !== undefined) return;
    soon = window.setTimeout(() => {
      soon = undefined;
      load().catch((error: unknown) => !leaving.signal.aborted && context.fail(error));
    }, 200);
  }

  await load();
  // New runs (started elsewhere) appear, running ones tick.
  const poll = window.setInterval(() => {
    if (document.hidden) return;
    load().catch(() => undefined);
  }, POLL_MS);
  const tick = window.setInterval(() => {
    for (const cell of table.querySelectorAll<HTMLElement>('[data-started]')) cell.textContent = formatDuration(Date.now() - Number(cell.dataset.started));
  }, 1_000);
  context.onLeave(() => {
    window.clearInterval(poll);
    window.clearInterval(tick);
  });
}
