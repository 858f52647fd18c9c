/**
 * The run viewer: the graph of one task with each node's status, live while it runs; a node's inputs,
 * outputs, branch, error and logs for each of its runs (every iteration of a loop); an error banner;
 * cancel and download.
 */
import { downloadJSON } from './download.js';
import { fill, h } from './dom.js';
import { STATUS_LABELS, formatDateTime, formatDuration, titleText } from './format.js';
import { WorkflowGraph } from './graph.js';
import { ApiError } from './api.js';
import { badge, errorText, section, type PageContext } from './page.js';
import { RunModel, indexNodes } from './run-model.js';
import type { Message, Report, SchemaNode, Snapshot, WorkflowSchema } from './types.js';
import { SchemaForm } from './schema-form.js';
import { fieldErrors } from './validation-errors.js';
import { valueView } from './value-view.js';
import { codeView } from './code-view.js';
import { errorLine } from './error-line.js';
import { timeline } from './timeline.js';

const TICK_MS = 500;
const REFRESH_DEBOUNCE_MS = 150;
const WAITING_POLL_MS = 3_000;

export async function viewerPage(context: PageContext, taskID: string): Promise<void> {
  const { api, root } = context;
  fill(root, h('p', { class: 'muted' }, 'Loading run…'));
  const [schema, first] = await Promise.all([
    api.get<WorkflowSchema>('/task/schema', { taskID }),
    api.get<Report>('/task/report', { taskID }),
  ]);
  const nodes = indexNodes(schema);
  let model = new RunModel(schema, first);
  let selected: string | undefined;
  let iteration: Record<string, number> = {};
  const leaving = new AbortController();
  context.onLeave(() => leaving.abort());

  const statusBadge = h('span');
  const elapsed = h('span', { class: 'muted', 'data-testid': 'run-elapsed' });
  const started = h('span', { class: 'muted' });
  const origin = h('span', { class: 'muted' });
  const banner = h('div', { class: 'banner-slot' });
  const actionError = h('div', { class: 'banner-slot' });
  const actions = h('div', { class: 'actions' });
  const panel = h('aside', { class: 'panel', 'aria-live': 'polite', 'aria-label': 'Details' });

  const graph = new WorkflowGraph(Array.isArray(schema.nodes) ? schema.nodes : [], Array.isArray(schema.edges) ? schema.edges : [], {
    look(nodeID) {
      const state = model.state(nodeID);
      const runs = model.node(nodeID)?.snapshots.length ?? 0;
      const time = model.elapsed(nodeID, Date.now());
      const parts = [STATUS_LABELS[state] ?? state];
      if (time !== undefined && state !== 'skipped' && state !== 'pending') parts.push(formatDuration(time));
      if (runs > 1) parts.push(`${runs} runs`);
      return { status: state, detail: parts.join(' · ') };
    },
    edgeState: (edge) => model.edgeState(edge),
    onSelect: (nodeID) => select(nodeID),
  });

  const zoomIn = h('button', { type: 'button', title: 'Zoom in', 'aria-label': 'Zoom in' }, '+');
  const zoomOut = h('button', { type: 'button', title: 'Zoom out', 'aria-label': 'Zoom out' }, '−');
  const fit = h('button', { type: 'button' }, 'Fit');
  zoomIn.addEventListener('click', () => graph.zoom(1.2));
  zoomOut.addEventListener('click', () => graph.zoom(1 / 1.2));
  fit.addEventListener('click', () => graph.fit());

  fill(
    root,
    h(
      'div',
      { class: 'viewer' },
      h(
        'header',
        { class: 'run-header' },
        h('div', undefined, h('a', { href: '#/runs' }, '← Runs')),
        h('h2', undefined, 'Run ', h('code', { class: 'task-id' }, taskID)),
        h('div', { class: 'run-meta' }, statusBadge, started, elapsed, origin),
        actions,
      ),
      actionError,
      banner,
      h('div', { class: 'viewer-body' }, h('div', { class: 'canvas' }, h('div', { class: 'zoom' }, zoomIn, zoomOut, fit), graph.element), panel),
    ),
  );
  requestAnimationFrame(() => graph.initialView(focusNode()));

  /** Where a look at the run starts: the failed node, else a running one, else the start node. */
  function focusNode(): string | undefined {
    const failed = model.failure()?.nodeID;
    if (failed !== undefined && nodes.has(failed)) return failed;
    const running = Object.values(model.report.reports).find((report) => report.status === 'processing' && nodes.has(report.id));
    if (running) return running.id;
    return Array.isArray(schema.nodes) ? (schema.nodes.find((node) => node?.type === 'start') ?? schema.nodes[0])?.id : undefined;
  }

  function select(nodeID: string | undefined): void {
    selected = nodeID;
    graph.select(nodeID);
    renderPanel();
  }

  function renderHeader(): void {
    const status = model.report.workflowStatus;
    const state = model.workflowState();
    fill(statusBadge, badge(state, STATUS_LABELS[state] ?? state));
    started.textContent = status.startTime ? `started ${formatDateTime(status.startTime)}` : 'not started yet';
    elapsed.textContent = status.startTime ? `${status.terminated ? 'took' : 'running for'} ${formatDuration(model.workflowElapsed(Date.now()))}` : '';
    const rerunOf = model.report.rerunOf;
    fill(origin, rerunOf ? ['re-run of ', h('a', { href: `#/task/${encodeURIComponent(rerunOf)}`, 'data-testid': 'rerun-of' }, rerunOf)] : null);
  }

  function renderActions(): void {
    const download = h('button', { type: 'button' }, 'Download report');
    download.addEventListener('click', () => downloadJSON(`flowgram-report-${taskID}.json`, model.report));
    const rerun = h('a', { class: 'button', href: `#/new?from=${encodeURIComponent(taskID)}` }, 'Run again');
    const children: HTMLElement[] = [download, rerun];
    const status = model.report.workflowStatus.status;
    if (status === 'failed' || status === 'canceled') {
      const resume = h('button', { type: 'button', 'data-action': 'resume', title: 'Continue from its checkpoints, under the same task ID' }, 'Resume');
      resume.addEventListener('click', () => {
        resume.setAttribute('disabled', '');
        api
          .request('POST', '/task/resume', { body: { taskID } })
          .then(refresh)
          .then(follow)
          .catch(actionFailed);
      });
      children.unshift(resume);
    }
    if (!model.terminated) {
      const cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel run');
      cancel.addEventListener('click', () => {
        cancel.setAttribute('disabled', '');
        api.request('PUT', '/task/cancel', { body: { taskID, reason: 'cancelled from the console' } }).then(refresh, actionFailed);
      });
      children.unshift(cancel);
    }
    fill(actions, ...children);
  }

  /** A refused action (e.g. resuming what cannot be resumed) is shown above the graph; a 401 asks for the token. */
  function actionFailed(error: unknown): void {
    if (error instanceof ApiError && error.status === 401) return context.fail(error);
    renderActions();
    fill(actionError, h('div', { class: 'banner error', role: 'alert' }, h('strong', undefined, 'Not done'), h('span', { class: 'banner-message' }, errorText(error))));
  }

  function renderBanner(): void {
    const failure = model.failure();
    const waiting = model.waitingNodes();
    if (!failure && waiting.length > 0) {
      fill(
        banner,
        waiting.map((nodeID) => {
          const answer = h('button', { type: 'button', class: 'link', 'data-action': 'open-answer' }, 'Answer');
          answer.addEventListener('click', () => select(nodeID));
          const deadline = model.node(nodeID)?.snapshots.at(-1)?.deadline;
          return h(
            'div',
            { class: 'banner waiting', role: 'status' },
            h('strong', undefined, `Waiting for an answer at “${titleText(nodes.get(nodeID)?.data?.title, nodeID)}”`),
            deadline ? h('span', { class: 'banner-message' }, `until ${formatDateTime(deadline)}`) : null,
            answer,
          );
        }),
      );
      return;
    }
    if (!failure) {
      fill(banner);
      return;
    }
    const node = failure.nodeID === undefined ? undefined : nodes.get(failure.nodeID);
    const name = node ? titleText(node.data?.title, node.id) : failure.nodeID;
    const show = h('button', { type: 'button', class: 'link' }, 'Show node');
    show.addEventListener('click', () => failure.nodeID !== undefined && select(failure.nodeID));
    fill(
      banner,
      h(
        'div',
        { class: 'banner error', role: 'alert' },
        h('strong', undefined, name ? `Failed at “${name}”` : 'The run failed'),
        h('span', { class: 'banner-message' }, failure.message),
        node ? show : null,
      ),
    );
  }

  function renderPanel(): void {
    if (selected === undefined || !nodes.has(selected)) {
      fill(panel, workflowDetails());
      return;
    }
    fill(panel, nodeDetails(nodes.get(selected) as SchemaNode));
  }

  function workflowDetails(): HTMLElement {
    const general = model.messages().filter((message) => message.nodeID === undefined);
    return h(
      'div',
      undefined,
      h('h2', undefined, 'Workflow'),
      h('p', { class: 'muted' }, 'Select a node to see its inputs, outputs, logs and every run.'),
      section('Inputs', valueView(model.report.inputs, 'Workflow inputs')),
      section('Outputs', valueView(model.report.outputs, 'Workflow outputs')),
      general.length > 0 ? section('Messages', logList(general)) : null,
      section('Timeline', timeline(model, nodes, Date.now(), select) ?? h('p', { class: 'muted' }, 'No node has run yet.')),
    );
  }

  function nodeDetails(node: SchemaNode): HTMLElement {
    const nodeID = String(node.id);
    const title = titleText(node.data?.title, nodeID);
    const state = model.state(nodeID);
    const report = model.node(nodeID);
    const snapshots = report?.snapshots ?? [];
    const close = h('button', { type: 'button', class: 'link' }, 'Close');
    close.addEventListener('click', () => select(undefined));
    const rerun = h('button', { type: 'button', 'data-action': 'rerun', title: 'A new run that reuses the outputs of every node before this one' }, 'Re-run from this node');
    rerun.addEventListener('click', () => {
      rerun.setAttribute('disabled', '');
      api
        .request<{ taskID: string }>('POST', '/task/rerun', { body: { taskID, fromNodeID: nodeID } })
        .then((started) => {
          location.hash = `#/task/${encodeURIComponent(started.taskID)}`;
        })
        .catch(actionFailed);
    });
    const head = h(
      'div',
      { class: 'node-head' },
      h('h2', { 'data-testid': 'node-title' }, title),
      close,
      h('p', { class: 'muted' }, `${node.type} · `, h('code', undefined, nodeID)),
      h('p', undefined, badge(state, STATUS_LABELS[state] ?? state), ' ', h('span', { 'data-testid': 'node-elapsed' }, nodeTime(nodeID))),
      model.terminated && nodes.get(nodeID) && isTopLevel(nodeID) ? h('p', undefined, rerun) : null,
    );
    if (snapshots.length === 0) {
      return h('div', undefined, head, h('p', { class: 'muted' }, state === 'skipped' ? 'This node did not run: no path reached it.' : 'This node has not run yet.'));
    }
    const defaultIndex = Math.max(0, snapshots.findIndex((snapshot) => snapshot.error !== undefined));
    const index = Math.min(iteration[nodeID] ?? (snapshots.some((snapshot) => snapshot.error !== undefined) ? defaultIndex : snapshots.length - 1), snapshots.length - 1);
    const snapshot = snapshots[index];
    const parts: Array<HTMLElement | null> = [head];
    if (snapshots.length > 1) {
      const picker = h('select', { id: 'iteration', 'data-testid': 'iteration' });
      snapshots.forEach((_snapshot, i) => {
        const attempt = snapshots[i].attempt;
        const option = h('option', { value: i }, `Run ${i + 1} of ${snapshots.length}${attempt ? ` (attempt ${attempt})` : ''} — ${STATUS_LABELS[model.snapshotState(nodeID, i)]}`);
        if (i === index) option.selected = true;
        picker.appendChild(option);
      });
      picker.addEventListener('change', () => {
        iteration = { ...iteration, [nodeID]: Number(picker.value) };
        renderPanel();
        (panel.querySelector('#iteration') as HTMLSelectElement | null)?.focus();
      });
      parts.push(h('p', { class: 'iteration' }, h('label', { for: 'iteration' }, 'Iteration '), picker));
    }
    const snapshotState = model.snapshotState(nodeID, index);
    parts.push(h('p', undefined, 'This run: ', badge(snapshotState, STATUS_LABELS[snapshotState])));
    const script = scriptOf(node);
    const line = errorLine(snapshot.error);
    const code = script ? section('Code', codeView(script.content, script.language, line)) : null;
    if (snapshot.error !== undefined) parts.push(section('Error', h('pre', { class: 'value error-text', 'data-testid': 'node-error' }, snapshot.error)));
    // The failing line next to its error; otherwise the script comes after what the node did.
    if (line !== undefined) parts.push(code);
    if (snapshot.branch !== undefined) parts.push(section('Branch', h('code', undefined, snapshot.branch)));
    if (snapshot.attempt !== undefined) parts.push(h('p', { 'data-testid': 'attempt' }, `Attempt ${snapshot.attempt}${snapshot.attempt > 1 ? ' (a retry)' : ''}`));
    if (snapshot.errorHandled) parts.push(h('p', { class: 'muted' }, 'Its error was handled by the node’s onError policy: the run went on.'));
    parts.push(section('Inputs', valueView(snapshot.inputs, 'Node inputs')));
    // What the wait node asks about (its inputs) comes first, then the answer.
    if (snapshotState === 'waiting') parts.push(section('Answer', answerForm(node, snapshot)));
    parts.push(section('Outputs', valueView(snapshot.outputs, 'Node outputs')));
    const logs = model.logs(nodeID, snapshot);
    parts.push(section('Logs', logs.length > 0 ? logList(logs) : h('p', { class: 'muted' }, 'No output.')));
    if (line === undefined) parts.push(code);
    const data = { ...snapshot.data };
    // The script is shown above as code, not again as JSON.
    if (script) delete data.script;
    if (Object.keys(data).length > 0) parts.push(section('Data', valueView(data, 'Node data')));
    return h('div', undefined, ...parts);
  }

  /** A form from the wait node's declared outputs; what it sends become its outputs and the run goes on. */
  function answerForm(node: SchemaNode, snapshot: Snapshot): HTMLElement {
    const nodeID = String(node.id);
    const form = new SchemaForm(node.data?.outputs, {});
    const problems = h('ul', { class: 'problems', role: 'alert' });
    const send = h('button', { type: 'submit', class: 'primary', 'data-action': 'signal' }, 'Send answer');
    const element = h(
      'form',
      { class: 'answer', novalidate: true },
      h('p', { class: 'muted' }, snapshot.deadline ? `The run waits for this answer until ${formatDateTime(snapshot.deadline)}.` : 'The run waits for this answer.'),
      form.element,
      h('div', { class: 'row' }, send),
      problems,
    );
    const show = (messages: string[]): void => fill(problems, messages.map((message) => h('li', undefined, message)));
    element.addEventListener('submit', (event) => {
      event.preventDefault();
      const { values, errors } = form.read();
      if (Object.keys(errors).length > 0) {
        show(form.showErrors(errors));
        form.focusFirstError();
        return;
      }
      send.setAttribute('disabled', '');
      api
        .request('POST', '/task/signal', { body: { taskID, nodeID, data: values } })
        .then(refresh)
        .then(follow)
        .catch((error: unknown) => {
          send.removeAttribute('disabled');
          if (error instanceof ApiError && error.status === 401) return context.fail(error);
          // The server's check against the declared outputs, shown at the fields it names.
          const { fields, other } = fieldErrors(error instanceof ApiError ? error.details : [], 'data');
          show([...form.showErrors(fields), ...(Object.keys(fields).length === 0 && other.length === 0 ? [errorText(error)] : other)]);
          form.focusFirstError();
        });
    });
    return element;
  }

  function scriptOf(node: SchemaNode): { content: string; language: string } | undefined {
    const script = node.data?.script as { content?: unknown; language?: unknown } | undefined;
    if (node.type !== 'code' || !script || typeof script.content !== 'string') return undefined;
    return { content: script.content, language: typeof script.language === 'string' ? script.language : 'javascript' };
  }

  function isTopLevel(nodeID: string): boolean {
    return Array.isArray(schema.nodes) && schema.nodes.some((candidate) => String(candidate.id) === nodeID);
  }

  function nodeTime(nodeID: string): string {
    const report = model.node(nodeID);
    if (!report) return '';
    const time = formatDuration(model.elapsed(nodeID, Date.now()));
    if (model.state(nodeID) === 'waiting') return `waiting for ${time}`;
    return report.terminated || report.endTime !== undefined ? `took ${time} · started ${formatDateTime(report.startTime)}` : `running for ${time}`;
  }

  function logList(messages: Message[]): HTMLElement {
    return h(
      'ol',
      { class: 'logs', 'data-testid': 'logs' },
      messages.map((message) =>
        h(
          'li',
          { class: `log level-${message.type}` },
          h('time', { datetime: new Date(message.timestamp).toISOString() }, new Date(message.timestamp).toLocaleTimeString()),
          h('span', { class: 'level' }, message.type),
          h('span', { class: 'log-text' }, message.message),
        ),
      ),
    );
  }

  function renderAll(): void {
    renderHeader();
    renderActions();
    renderBanner();
    graph.update();
    renderPanel();
  }

  let pending: number | undefined;
  async function refresh(): Promise<void> {
    const report = await api.get<Report>('/task/report', { taskID }, leaving.signal);
    fill(actionError);
    // Unchanged: the page stays as it is (a half-typed answer, the focus, the scroll position).
    if (JSON.stringify(report) === JSON.stringify(model.report)) return;
    model = new RunModel(schema, report);
    renderAll();
  }
  function scheduleRefresh(): void {
    if (pending !== undefined) return;
    pending = window.setTimeout(() => {
      pending = undefined;
      refresh().catch((error: unknown) => !leaving.signal.aborted && context.fail(error));
    }, REFRESH_DEBOUNCE_MS);
  }

  /** While the run goes on: clocks tick, and its event stream triggers refreshes. */
  let following = false;
  function follow(): void {
    if (model.terminated || following) return;
    following = true;
    const ticker = window.setInterval(() => {
      if (model.terminated) return;
      renderHeader();
      graph.update();
      const time = panel.querySelector('[data-testid="node-elapsed"]');
      if (time && selected !== undefined) time.textContent = nodeTime(selected);
    }, TICK_MS);
    context.onLeave(() => window.clearInterval(ticker));
    api
      .stream(taskID, scheduleRefresh, leaving.signal)
      .then(() => refresh())
      .catch((error: unknown) => {
        if (!leaving.signal.aborted) context.fail(error);
      })
      .finally(() => {
        window.clearInterval(ticker);
        following = false;
        // A run waiting for an answer has no stream to follow: look again now and then (answered elsewhere, timed out).
        if (!model.terminated && !leaving.signal.aborted) {
          const again = window.setTimeout(follow, WAITING_POLL_MS);
          context.onLeave(() => window.clearTimeout(again));
        }
      });
  }

  renderAll();
  follow();
}
