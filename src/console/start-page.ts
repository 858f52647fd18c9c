/**
 * Start a run: a workflow pasted, uploaded or taken from an earlier run; a form from its start node's
 * inputs schema; validation by the server before running (errors at their fields); then the live viewer.
 */
import { fill, h } from './dom.js';
import { formatDateTime } from './format.js';
import type { PageContext } from './page.js';
import { errorText } from './page.js';
import { SchemaForm } from './schema-form.js';
import { fieldErrors } from './validation-errors.js';
import type { JsonSchema, Report, SchemaNode, TaskListing, WorkflowSchema } from './types.js';

function startNode(schema: WorkflowSchema): SchemaNode | undefined {
  return Array.isArray(schema.nodes) ? schema.nodes.find((node) => node && node.type === 'start') : undefined;
}

function parseWorkflow(text: string): { schema?: WorkflowSchema; error?: string } {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'The workflow must be a JSON object with "nodes" and "edges".' };
    return { schema: value as WorkflowSchema };
  } catch (error) {
    return { error: `Not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export async function startPage(context: PageContext, fromTaskID: string | undefined): Promise<void> {
  const { api, root } = context;
  const source = h('textarea', { id: 'workflow-json', rows: 12, spellcheck: 'false', class: 'mono', placeholder: '{ "nodes": [...], "edges": [...] }' });
  const file = h('input', { type: 'file', id: 'workflow-file', accept: '.json,application/json' });
  const earlier = h('select', { id: 'workflow-earlier' }, h('option', { value: '' }, 'Pick a workflow from an earlier run…'));
  const sourceError = h('p', { class: 'field-error', role: 'alert', id: 'workflow-error' });
  const formBox = h('div', { class: 'form-box' });
  const problems = h('ul', { class: 'problems', role: 'alert', 'data-testid': 'problems' });
  const validate = h('button', { type: 'button' }, 'Validate');
  const run = h('button', { type: 'submit', class: 'primary' }, 'Run');
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  let form: SchemaForm | undefined;
  let schema: WorkflowSchema | undefined;

  const page = h(
    'form',
    { class: 'start', novalidate: true },
    h('div', { class: 'page-head' }, h('h2', undefined, 'Start a run'), h('a', { href: '#/runs' }, '← Runs')),
    h(
      'section',
      { class: 'card' },
      h('h3', undefined, '1. Workflow'),
      h('label', { for: 'workflow-json' }, 'Paste the workflow JSON (as the editor exports it)'),
      source,
      h('div', { class: 'row' }, h('label', { for: 'workflow-file' }, 'or upload a file '), file, h('label', { for: 'workflow-earlier', class: 'visually-hidden' }, 'or reuse an earlier run'), earlier),
      sourceError,
    ),
    h('section', { class: 'card' }, h('h3', undefined, '2. Inputs'), formBox),
    h('div', { class: 'row' }, validate, run, status),
    problems,
  );
  fill(root, page);

  function showProblems(messages: string[]): void {
    fill(problems, messages.map((message) => h('li', undefined, message)));
  }

  function load(initial: Record<string, unknown> = {}): void {
    const parsed = parseWorkflow(source.value);
    sourceError.textContent = parsed.error ?? '';
    schema = parsed.schema;
    showProblems([]);
    if (!schema) {
      form = undefined;
      fill(formBox, h('p', { class: 'muted' }, 'The form appears once the workflow is here.'));
      return;
    }
    const start = startNode(schema);
    form = new SchemaForm(start?.data?.outputs as JsonSchema | undefined, initial);
    fill(formBox, form.element);
  }

  async function check(): Promise<Record<string, unknown> | undefined> {
    if (!schema || !form) {
      sourceError.textContent = sourceError.textContent || 'Paste, upload or pick a workflow first.';
      source.focus();
      return undefined;
    }
    const { values, errors } = form.read();
    if (Object.keys(errors).length > 0) {
      showProblems(form.showErrors(errors));
      form.focusFirstError();
      return undefined;
    }
    const result = await api.request<{ valid: boolean; errors?: string[] }>('POST', '/task/validate', { body: { schema, inputs: values } });
    const { fields, other } = fieldErrors(result.valid ? [] : (result.errors ?? []));
    showProblems([...form.showErrors(fields), ...other]);
    if (!result.valid) {
      form.focusFirstError();
      status.textContent = 'The workflow or its inputs have problems.';
      return undefined;
    }
    status.textContent = 'Valid.';
    return values;
  }

  source.addEventListener('input', () => load());
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    source.value = await chosen.text();
    load();
  });
  earlier.addEventListener('change', () => {
    if (earlier.value) reuse(earlier.value).catch(context.fail);
  });
  validate.addEventListener('click', () => {
    check().catch((error: unknown) => showProblems([errorText(error)]));
  });
  page.addEventListener('submit', (event) => {
    event.preventDefault();
    run.setAttribute('disabled', '');
    (async () => {
      const inputs = await check();
      if (!inputs) return;
      status.textContent = 'Starting…';
      const started = await api.request<{ taskID: string }>('POST', '/task/run', { body: { schema, inputs } });
      location.hash = `#/task/${encodeURIComponent(started.taskID)}`;
    })()
      .catch((error: unknown) => showProblems([errorText(error)]))
      .finally(() => run.removeAttribute('disabled'));
  });

  async function reuse(taskID: string): Promise<void> {
    const [workflow, report] = await Promise.all([api.get<WorkflowSchema>('/task/schema', { taskID }), api.get<Report>('/task/report', { taskID })]);
    source.value = JSON.stringify(workflow, null, 2);
    load((report.inputs ?? {}) as Record<string, unknown>);
  }

  load();
  const recent = await api.get<TaskListing>('/tasks', { limit: 20 });
  for (const task of recent.tasks) earlier.appendChild(h('option', { value: task.id }, `${task.title || '(untitled)'} — ${formatDateTime(task.startTime)}`));
  if (fromTaskID) await reuse(fromTaskID);
}
