/**
 * Every node that ran, in the order it started, with when it started (from the run's start), how long
 * it took and a bar on the run's time axis: where the time went, at a glance, like a trace view.
 */
import { h } from './dom.js';
import { STATUS_LABELS, formatDuration, titleText } from './format.js';
import { badge } from './page.js';
import type { RunModel } from './run-model.js';
import type { SchemaNode } from './types.js';

export function timeline(model: RunModel, nodes: Map<string, SchemaNode>, now: number, onSelect: (nodeID: string) => void): HTMLElement | null {
  const ran = Object.values(model.report.reports)
    .filter((report) => nodes.has(report.id))
    .sort((a, b) => a.startTime - b.startTime || (a.endTime ?? now) - (b.endTime ?? now));
  if (ran.length === 0) return null;
  const origin = model.report.workflowStatus.startTime || ran[0].startTime;
  const span = Math.max(1, model.workflowElapsed(now), ...ran.map((report) => (model.elapsed(report.id, now) ?? 0) + report.startTime - origin));
  return h(
    'ol',
    { class: 'timeline', 'data-testid': 'timeline' },
    ran.map((report) => {
      const node = nodes.get(report.id) as SchemaNode;
      const took = model.elapsed(report.id, now) ?? 0;
      const offset = Math.max(0, report.startTime - origin);
      const state = model.state(report.id);
      const bar = h('span', { class: `bar status-${state}` });
      // Set through the CSSOM: the page's CSP allows no style attributes.
      bar.style.left = `${(offset / span) * 100}%`;
      bar.style.width = `max(2px, ${(took / span) * 100}%)`;
      const open = h('button', { type: 'button', class: 'link', 'data-timeline-node': report.id }, titleText(node.data?.title, report.id));
      open.addEventListener('click', () => onSelect(report.id));
      const runs = report.snapshots.length;
      return h(
        'li',
        undefined,
        h('div', { class: 'timeline-head' }, badge(state, STATUS_LABELS[state] ?? state), open),
        h('div', { class: 'muted timeline-time' }, `+${formatDuration(offset)} · ${formatDuration(took)}${runs > 1 ? ` · ${runs} runs` : ''}`),
        h('div', { class: 'track', 'aria-hidden': 'true' }, bar),
      );
    }),
  );
}
