/**
 * The web console in a real browser: Debian's chromium driven by playwright-core against real servers on
 * 127.0.0.1. One browser for the file; each test opens its own page, saves a screenshot under
 * test/output/console/ and fails if the page logged a console error.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SecretStore } from '../src/secrets/store.js';
import { blockEnd, blockStart, constant, edge, loopNode, ref, type Schema as BareSchema } from './fixtures/workflow-builders.js';
import { helloSchema, postJson, slowSchema, startTestServer, waitForEnd, type TestServer } from './helpers/server-harness.js';

/** A workflow with the top-level title the history lists. */
type Schema = BareSchema & { title?: string };

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`console.test: skipped, no chromium at ${CHROMIUM} (.ci/run installs the Debian package)`);

const SHOTS = fileURLToPath(new URL('./output/console/', import.meta.url));

const position = (x: number, y: number): { position: { x: number; y: number } } => ({ position: { x, y } });

function codeNode(id: string, title: unknown, script: string, inputs: Record<string, unknown>, x: number): Schema['nodes'][number] {
  return {
    id,
    type: 'code',
    meta: position(x, 0),
    data: {
      title,
      inputs: { type: 'object', properties: Object.fromEntries(Object.keys(inputs).map((key) => [key, {}])) },
      inputsValues: inputs,
      outputs: { type: 'object', properties: { result: {} } },
      script: { language: 'javascript', content: script },
    },
  } as Schema['nodes'][number];
}

function endNode(x: number, from: string): Schema['nodes'][number] {
  return {
    id: 'end_0',
    type: 'end',
    meta: position(x, 0),
    data: { title: 'End', inputs: { type: 'object', properties: { result: {} } }, inputsValues: { result: ref(from, 'result') } },
  } as Schema['nodes'][number];
}

/** A form of every input type, a code node that logs and greets. */
function greetingWorkflow(): Schema {
  const start = {
    id: 'start_0',
    type: 'start',
    meta: position(0, 0),
    data: {
      title: 'Start',
      outputs: {
        type: 'object',
        required: ['name', 'count'],
        properties: {
          name: { type: 'string', description: 'who to greet' },
          count: { type: 'integer', default: 2, minimum: 1 },
          ratio: { type: 'number', default: 0.5 },
          loud: { type: 'boolean', default: true },
          when: { type: 'string', format: 'date-time' },
          tags: { type: 'array', items: { type: 'string' }, default: ['a'] },
          extra: { type: 'object', default: { k: 1 } },
        },
      },
    },
  };
  const params = { name: ref('start_0', 'name'), count: ref('start_0', 'count'), loud: ref('start_0', 'loud') };
  const script = `async function main({ params }) {\n  console.log('greeting ' + params.name + ' x' + params.count);\n  const text = 'Hello, ' + params.name;\n  return { result: params.loud ? text.toUpperCase() : text };\n}`;
  return { title: 'Greeter', nodes: [start, codeNode('code_0', 'Greet', script, params, 300), endNode(600, 'code_0')], edges: [edge('start_0', 'code_0'), edge('code_0', 'end_0')] } as Schema;
}

/** A loop whose code node logs each item; the End node sits far off (the editor put it there). */
function loopWorkflow(): Schema {
  const start = { id: 'start_0', type: 'start', meta: position(0, 0), data: { title: 'Start', outputs: { type: 'object', properties: { numbers: { type: 'array', items: { type: 'number' }, default: [3, 8, 12] } } } } };
  const inner = codeNode('square', 'Square', `async function main({ params }) {\n  console.log('squaring ' + params.n);\n  return { result: params.n * params.n };\n}`, { n: ref('loop_0_locals', 'item') }, 200);
  const loop = loopNode('loop_0', {
    loopFor: ref('start_0', 'numbers'),
    blocks: [{ ...blockStart('block_start_0'), meta: position(0, 0) }, inner, { ...blockEnd('block_end_0'), meta: position(460, 0) }],
    edges: [edge('block_start_0', 'square'), edge('square', 'block_end_0')],
    loopOutputs: { result: ref('square', 'result') },
    outputs: { result: { type: 'array', items: { type: 'number' } } },
  });
  loop.meta = position(300, 0);
  (loop.data as { title: string }).title = 'Square each';
  return { title: 'Squares', nodes: [start, loop, endNode(1400, 'loop_0')], edges: [edge('start_0', 'loop_0'), edge('loop_0', 'end_0')] } as Schema;
}

/** Fails in a code node; another node's title and a value are hostile markup. */
function failingWorkflow(): Schema {
  const start = { id: 'start_0', type: 'start', meta: position(0, 0), data: { title: 'Start', outputs: { type: 'object', properties: { html: { type: 'string', default: '<img src=x onerror="window.__pwned=1">' } } } } };
  const echo = codeNode('shout', '<img src=x onerror="window.__pwned=1">', `async function main({ params }) {\n  return { result: params.html + 'x'.repeat(2000) };\n}`, { html: ref('start_0', 'html') }, 300);
  const boom = codeNode('boom', 'Explode', `async function main({ params }) {\n  console.log('about to fail');\n  throw new Error('kaput <b>bold</b>');\n}`, { x: ref('shout', 'result') }, 600);
  return { title: 'Breaks', nodes: [start, echo, boom, endNode(900, 'boom')], edges: [edge('start_0', 'shout'), edge('shout', 'boom'), edge('boom', 'end_0')] } as Schema;
}

/**
 * As the editor lays a workflow out (wide nodes 460 apart, branches above and below): start → condition →
 * "Big" (a code node that fails on line 4) or "Small" → end. With n > 5 the Big branch runs and fails.
 */
function branchingWorkflow(): Schema {
  const start = { id: 'start_0', type: 'start', meta: position(180, 300), data: { title: 'Start', outputs: { type: 'object', properties: { n: { type: 'number', default: 7 } } } } };
  const condition = {
    id: 'condition_0',
    type: 'condition',
    meta: position(640, 290),
    data: { title: 'Is it big?', conditions: [{ key: 'if_big', value: { left: ref('start_0', 'n'), operator: 'gt', right: constant(5) } }] },
  };
  const bigScript = ['async function main({ params }) {', "  console.log('checking ' + params.n);", '  const limits = null;', '  return { result: params.n * limits.factor };', '}'].join('\n');
  const big = { ...codeNode('big', 'Big', bigScript, { n: ref('start_0', 'n') }, 1100), meta: position(1100, 120) };
  const small = { ...codeNode('small', 'Small', 'async function main({ params }) {\n  return { result: params.n };\n}', { n: ref('start_0', 'n') }, 1100), meta: position(1100, 480) };
  const end = { ...endNode(1560, 'big'), meta: position(1560, 300) };
  return {
    title: 'Sizes',
    nodes: [start, condition, big, small, end] as Schema['nodes'],
    edges: [edge('start_0', 'condition_0'), edge('condition_0', 'big', 'if_big'), edge('condition_0', 'small', 'else'), edge('big', 'end_0'), edge('small', 'end_0')],
  } as Schema;
}

/** start → wait for a person's approval (a boolean, a note, labels that are strings) → end. */
function approvalWorkflow(): Schema {
  const start = { id: 'start_0', type: 'start', meta: position(0, 0), data: { title: 'Start', outputs: { type: 'object', properties: { amount: { type: 'number', default: 120 } } } } };
  const wait = {
    id: 'approve',
    type: 'wait',
    meta: position(460, 0),
    data: {
      title: 'Approve payment',
      inputs: { type: 'object', properties: { amount: { type: 'number' } } },
      inputsValues: { amount: ref('start_0', 'amount') },
      outputs: { type: 'object', required: ['approved', 'note'], properties: { approved: { type: 'boolean' }, note: { type: 'string' }, labels: { type: 'array', items: { type: 'string' } } } },
    },
  };
  const end = {
    id: 'end_0',
    type: 'end',
    meta: position(920, 0),
    data: { title: 'End', inputs: { type: 'object', properties: { approved: {}, note: {} } }, inputsValues: { approved: ref('approve', 'approved'), note: ref('approve', 'note') } },
  };
  return { title: 'Approval', nodes: [start, wait, end], edges: [edge('start_0', 'approve'), edge('approve', 'end_0')] } as Schema;
}

/** The viewport's transform: what zoom, pan and fit change. */
function viewTransform(page: Page): Promise<string | null> {
  return page.getAttribute('svg.graph g.viewport', 'transform');
}

describe.skipIf(!available)('web console (chromium)', () => {
  let browser: Browser;
  let server: TestServer;
  let page: Page;
  let errors: string[];
  /** Console errors a test expects (e.g. the 401 of the token flow). */
  let allowed: RegExp | undefined;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [browser, server] = await Promise.all([
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      }),
      startTestServer(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(url: string, viewport = { width: 1280, height: 720 }): Promise<Page> {
    if (page && !page.isClosed()) {
      // A test that opens a second page: the first one must not have logged errors either.
      expect(errors).toEqual([]);
      await page.context().close();
    }
    const context = await browser.newContext({ viewport });
    page = await context.newPage();
    errors = [];
    allowed = undefined;
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error' && !(allowed && allowed.test(message.text()))) errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    // Nothing is fetched from anywhere but the server itself (no CDN; works offline).
    const origin = new URL(url).origin;
    page.on('request', (request) => {
      if (!request.url().startsWith(`${origin}/`) && !/^(data|blob):/.test(request.url())) errors.push(`request outside the server: ${request.url()}`);
    });
    await page.goto(url);
    return page;
  }

  afterEach(async (test) => {
    if (!page || page.isClosed()) return;
    await page.screenshot({ path: `${SHOTS}${test.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`, fullPage: true });
    await page.context().close();
    expect(errors).toEqual([]);
  });

  async function runTask(schema: Schema, inputs: Record<string, unknown> = {}): Promise<string> {
    const run = await postJson<{ taskID: string }>(`${server.url}/api/task/run`, { schema, inputs });
    expect(run.status).toBe(200);
    return run.body.taskID;
  }

  it('starts a run from the generated form, refusing bad inputs at their fields, and watches it succeed', async () => {
    await open(`${server.url}/#/new`);
    await page.fill('#workflow-json', JSON.stringify(greetingWorkflow()));
    // Every type gets its control, defaults filled in.
    expect(await page.inputValue('[data-field="count"]')).toBe('2');
    expect(await page.isChecked('[data-field="loud"]')).toBe(true);
    expect(await page.getAttribute('[data-field="when"]', 'type')).toBe('datetime-local');
    expect(JSON.parse(await page.inputValue('[data-field="tags"]'))).toEqual(['a']);
    await page.screenshot({ path: `${SHOTS}start-form.png`, fullPage: true });

    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#input-0-error')).toContain('name is required');
    await page.fill('[data-field="name"]', 'Ada');
    await page.fill('[data-field="count"]', '1.5');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#input-1-error')).toContain('count must be a whole number');
    // The server's own validation (item types), shown at the field it names.
    await page.fill('[data-field="count"]', '3');
    await page.fill('[data-field="tags"]', '[1]');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#input-5-error')).toContain('tags must be string');
    await page.fill('[data-field="tags"]', '["a"]');
    await page.fill('[data-field="when"]', '2026-01-02T03:04:05');
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/task\//);
    await page.waitForSelector('.run-meta .badge.status-succeeded', { timeout: 15_000 });
    await page.click('[data-node-id="code_0"]');
    await expect.poll(() => page.textContent('[data-testid="logs"]')).toContain('greeting Ada x3');
    expect(await page.textContent('.panel')).toContain('HELLO, ADA');
    const taskID = decodeURIComponent(page.url().split('#/task/')[1]);
    const report = (await (await fetch(`${server.url}/api/task/report?taskID=${taskID}`)).json()) as { inputs: { when: string } };
    expect(report.inputs).toMatchObject({ name: 'Ada', count: 3, ratio: 0.5, loud: true, tags: ['a'], extra: { k: 1 } });
    expect(new Date(report.inputs.when).getTime()).toBe(new Date('2026-01-02T03:04:05').getTime());

    // Re-run from the code node: a new task, linked to this one.
    await page.click('[data-node-id="code_0"]');
    await page.click('[data-action="rerun"]');
    await page.waitForURL((url) => url.hash.startsWith('#/task/') && !url.hash.includes(taskID));
    await page.waitForSelector('.run-meta .badge.status-succeeded', { timeout: 15_000 });
    expect(await page.textContent('[data-testid="rerun-of"]')).toBe(taskID);
  });

  it('shows every iteration of a node inside a loop, with its own inputs, outputs and logs', async () => {
    const taskID = await runTask(loopWorkflow());
    await waitForEnd(server.url, taskID);
    await open(`${server.url}/#/task/${taskID}`);
    await page.waitForSelector('.run-meta .badge.status-succeeded');
    // The loop is a container holding its block; the far-off End node is still on screen after fit.
    const end = await page.locator('[data-node-id="end_0"]').boundingBox();
    expect(end && end.x + end.width).toBeLessThanOrEqual(1280);
    await page.click('[data-node-id="square"]');
    const picker = page.locator('[data-testid="iteration"]');
    expect(await picker.locator('option').count()).toBe(3);
    expect(await page.textContent('[data-testid="logs"]')).toContain('squaring 12');
    await picker.selectOption('0');
    await expect.poll(() => page.textContent('[data-testid="logs"]')).toContain('squaring 3');
    expect(await page.textContent('[data-testid="logs"]')).not.toContain('squaring 12');
    expect(await page.textContent('.panel')).toContain('9');
    await picker.selectOption('1');
    await expect.poll(() => page.textContent('.panel')).toContain('64');
    expect(await page.locator('.edge.taken').count()).toBeGreaterThanOrEqual(4);
  });

  it('names the failing node and its message in a banner; every value is text, never markup', async () => {
    const taskID = await runTask(failingWorkflow());
    await waitForEnd(server.url, taskID);
    await open(`${server.url}/api/task/view?taskID=${taskID}`); // the old viewer's URL redirects here
    await page.waitForSelector('.banner.error');
    expect(await page.textContent('.banner.error')).toContain('Failed at “Explode”');
    expect(await page.textContent('.banner.error')).toContain('kaput <b>bold</b>');
    await page.click('.banner.error button');
    expect(await page.textContent('[data-testid="node-title"]')).toBe('Explode');
    expect(await page.textContent('[data-testid="node-error"]')).toContain('kaput');
    expect(await page.textContent('[data-testid="logs"]')).toContain('about to fail');
    expect(await page.getAttribute('[data-node-id="boom"]', 'class')).toContain('status-failed');
    expect(await page.getAttribute('[data-node-id="end_0"]', 'class')).toContain('status-skipped');

    await page.click('[data-node-id="shout"]');
    expect(await page.textContent('[data-testid="node-title"]')).toBe('<img src=x onerror="window.__pwned=1">');
    // A long value starts collapsed and opens in full.
    const more = page.getByRole('button', { name: /Show more/ }).last();
    await more.click();
    expect(await page.textContent('.panel')).toContain('x'.repeat(2000));
    expect(await page.locator('main img, main b').count()).toBe(0);
    expect(await page.evaluate<unknown>('window.__pwned')).toBeUndefined();
  });

  it('draws a workflow whose node title is a number, and says why it did not run', async () => {
    const schema = failingWorkflow();
    (schema.nodes[2].data as { title: unknown }).title = 42;
    const taskID = await runTask(schema);
    await waitForEnd(server.url, taskID);
    await open(`${server.url}/#/task/${taskID}`);
    await page.waitForSelector('.run-meta .badge.status-failed');
    expect(await page.textContent('[data-node-id="boom"] text.title')).toBe('42');
    expect(await page.textContent('.banner.error')).toContain('title');
    await page.focus('[data-node-id="boom"]');
    await page.keyboard.press('Enter');
    expect(await page.textContent('[data-testid="node-title"]')).toBe('42');
    for (const nodeID of ['start_0', 'shout', 'boom', 'end_0']) expect(await page.getAttribute(`[data-node-id="${nodeID}"]`, 'class')).toContain('status-skipped');
    // A refused action says why, above the graph, and leaves the page as it was.
    allowed = /status of 4\d\d/;
    await page.click('[data-action="resume"]');
    await page.waitForSelector('.banner-slot:has-text("Not done")');
    expect(await page.locator('.graph-box').count()).toBe(1);
  });

  it('cancels a running task from the page, its clock ticking until then, and resumes it', async () => {
    const taskID = await runTask({ ...slowSchema(60_000), title: 'Slow one' }, { name: 'slow' });
    await open(`${server.url}/#/task/${taskID}`);
    await page.waitForSelector('.run-meta .badge.status-processing');
    await page.click('[data-node-id="delay_0"]');
    const first = await page.textContent('[data-testid="node-elapsed"]');
    await expect.poll(() => page.textContent('[data-testid="node-elapsed"]'), { timeout: 5_000 }).not.toBe(first);
    await page.click('button.danger');
    await page.waitForSelector('.run-meta .badge.status-canceled', { timeout: 10_000 });
    expect(await page.locator('button.danger').count()).toBe(0);
    // Resumed under the same ID, followed live again, and cancelled again.
    await page.click('[data-action="resume"]');
    await page.waitForSelector('.run-meta .badge.status-processing', { timeout: 10_000 });
    expect(page.url()).toContain(taskID);
    await page.click('button.danger');
    await page.waitForSelector('.run-meta .badge.status-canceled', { timeout: 10_000 });
  });

  it('filters the history by status, search and time, with totals per status, and follows new runs', async () => {
    for (const title of ['Alpha report', 'Alpha report', 'Beta export']) await runTask({ ...greetingWorkflow(), title }, { name: 'x', count: 1 });
    const failed = await runTask(failingWorkflow());
    await waitForEnd(server.url, failed);
    await open(`${server.url}/`);
    await page.waitForSelector('.runs-table');
    await page.fill('#runs-q', 'alpha');
    await page.press('#runs-q', 'Enter');
    await expect.poll(() => page.locator('.runs-table tbody tr').count()).toBe(2);
    expect(await page.textContent('.runs-table')).toContain('Alpha report');
    expect(await page.textContent('[data-testid="range"]')).toBe('1–2 of 2');
    await page.screenshot({ path: `${SHOTS}runs-search.png`, fullPage: true });

    await page.fill('#runs-q', '');
    await page.press('#runs-q', 'Enter');
    await page.click('.chip[data-status="failed"]');
    await expect.poll(() => page.url()).toContain('status=failed');
    await page.waitForSelector(`tr[data-task-id="${failed}"]`);
    // The failed row was already listed before the filter: wait for the filtered list itself, not just that row.
    await expect.poll(async () => [...new Set(await page.locator('.runs-table tbody tr .badge').allTextContents())]).toEqual(['failed']);
    const failedTotal = Number(await page.textContent('.chip[data-status="failed"] strong'));
    await expect.poll(() => page.textContent('[data-testid="range"]')).toBe(`1–${Math.min(failedTotal, 20)} of ${failedTotal}`);

    await page.selectOption('#runs-range', 'custom');
    await page.fill('#runs-from', '2000-01-01T00:00');
    await page.fill('#runs-to', '2000-01-02T00:00');
    await page.click('form.filters button[type=submit]');
    await page.waitForSelector('.empty');

    // A running task's row follows its event stream: it turns succeeded before the next 5 s poll.
    const slow = await runTask({ ...slowSchema(1_500), title: 'Streamed' }, { name: 's' });
    await open(`${server.url}/#/runs?q=Streamed`);
    await page.waitForSelector(`tr[data-task-id="${slow}"] .badge.status-processing`);
    await page.waitForSelector(`tr[data-task-id="${slow}"] .badge.status-succeeded`, { timeout: 4_000 });

    // A run started elsewhere shows up while the page is open.
    await open(`${server.url}/#/runs?q=Gamma`);
    await page.waitForSelector('.empty');
    await runTask({ ...greetingWorkflow(), title: 'Gamma' }, { name: 'x', count: 1 });
    await page.waitForSelector('.runs-table', { timeout: 10_000 });
    await page.click('.runs-table tbody tr a');
    await page.waitForSelector('.run-meta .badge');
  });

  it('highlights the branch taken, dims the other, marks the skipped node, and shows the error at its script line', async () => {
    const taskID = await runTask(branchingWorkflow(), { n: 7 });
    await waitForEnd(server.url, taskID);
    await open(`${server.url}/#/task/${taskID}`);
    await page.waitForSelector('.run-meta .badge.status-failed');
    expect(await page.getAttribute('[data-node-id="small"]', 'class')).toContain('status-skipped');
    expect(await page.getAttribute('[data-node-id="end_0"]', 'class')).toContain('status-skipped');
    const edgeClasses = await page.locator('path.edge').evaluateAll((paths) => paths.map((path) => path.getAttribute('class')));
    expect(edgeClasses).toEqual(['edge taken', 'edge taken', 'edge untaken', 'edge untaken', 'edge untaken']);
    // Every node is on screen at 1280×720, each title readable (not drawn smaller than 8 px).
    for (const nodeID of ['start_0', 'condition_0', 'big', 'small', 'end_0']) {
      const box = await page.locator(`[data-node-id="${nodeID}"]`).boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= 1280 && box.y + box.height <= 720).toBe(true);
    }
    const titleHeight = (await page.locator('[data-node-id="big"] text.title').boundingBox())?.height ?? 0;
    expect(titleHeight).toBeGreaterThanOrEqual(8);

    await page.click('[data-node-id="condition_0"]');
    expect(await page.textContent('.panel')).toContain('if_big');
    await page.click('.banner.error button');
    expect(await page.textContent('[data-testid="node-error"]')).toBe("TypeError: cannot read property 'factor' of null (line 4)");
    expect(await page.textContent('[data-testid="error-line"]')).toBe('  return { result: params.n * limits.factor };');
    expect(await page.textContent('[data-testid="logs"]')).toContain('checking 7');
    await page.screenshot({ path: `${SHOTS}viewer-branch-error.png` });

    // The workflow panel: its inputs and a timeline of the nodes that ran, which opens a node.
    await page.click('.node-head .link');
    const timeline = page.locator('[data-testid="timeline"] li');
    expect(await timeline.count()).toBe(3);
    expect(await timeline.allTextContents()).toEqual([expect.stringContaining('Start'), expect.stringContaining('Is it big?'), expect.stringContaining('Big')]);
    await page.click('[data-timeline-node="big"]');
    expect(await page.textContent('[data-testid="node-title"]')).toBe('Big');
  });

  it('zooms, pans and fits the graph with its buttons, the mouse wheel and the keyboard', async () => {
    const taskID = await runTask(branchingWorkflow(), { n: 1 });
    await waitForEnd(server.url, taskID);
    await open(`${server.url}/#/task/${taskID}`);
    await page.waitForSelector('.run-meta .badge.status-succeeded');
    expect(await page.getAttribute('[data-node-id="big"]', 'class')).toContain('status-skipped');
    const fitted = await viewTransform(page);
    await page.click('button[aria-label="Zoom in"]');
    const zoomed = await viewTransform(page);
    expect(zoomed).not.toBe(fitted);
    const scale = (transform: string | null): number => Number(/scale\(([\d.]+)\)/.exec(transform ?? '')?.[1]);
    expect(scale(zoomed)).toBeGreaterThan(scale(fitted));
    // Dragging the background pans.
    const canvas = (await page.locator('svg.graph').boundingBox())!;
    await page.mouse.move(canvas.x + 20, canvas.y + canvas.height - 20);
    await page.mouse.down();
    await page.mouse.move(canvas.x + 120, canvas.y + canvas.height - 60, { steps: 4 });
    await page.mouse.up();
    const panned = await viewTransform(page);
    expect(panned).not.toBe(zoomed);
    expect(scale(panned)).toBe(scale(zoomed));
    await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
    await page.mouse.wheel(0, 300);
    expect(scale(await viewTransform(page))).toBeLessThan(scale(panned));
    // Keyboard: focus the graph, arrows pan, + and - zoom, 0 fits again.
    await page.focus('.graph-box');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('+');
    expect(await viewTransform(page)).not.toBe(fitted);
    await page.keyboard.press('0');
    expect(await viewTransform(page)).toBe(fitted);
    await page.click('button[aria-label="Zoom out"]');
    await page.click('button:text-is("Fit")');
    expect(await viewTransform(page)).toBe(fitted);
    // From the Fit button, Tab reaches the graph, then its nodes; Enter opens one.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.className')).toBe('graph-box');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await page.textContent('[data-testid="node-title"]')).toBe('Start');
  });

  it('answers a waiting node from the page: its form, the server\'s check at its fields, then the run goes on', async () => {
    const taskID = await runTask(approvalWorkflow());
    await open(`${server.url}/#/runs?q=Approval`);
    await page.waitForSelector(`tr[data-task-id="${taskID}"] .badge.status-waiting`, { timeout: 10_000 });
    expect(Number(await page.textContent('.chip[data-status="waiting"] strong'))).toBeGreaterThanOrEqual(1);
    await page.click(`tr[data-task-id="${taskID}"] a`);
    await page.waitForSelector('.banner.waiting');
    expect(await page.textContent('.run-meta .badge')).toBe('waiting');
    expect(await page.textContent('.banner.waiting')).toContain('Approve payment');
    expect(await page.getAttribute('[data-node-id="approve"]', 'class')).toContain('status-waiting');
    await page.click('[data-action="open-answer"]');
    expect(await page.textContent('.panel')).toContain('120');
    await page.screenshot({ path: `${SHOTS}viewer-waiting.png` });
    // Checked in the page first (required), then by the server against the node's outputs (item types).
    await page.click('[data-action="signal"]');
    await expect.poll(() => page.textContent('.answer')).toContain('note is required');
    await page.check('.answer [data-field="approved"]');
    await page.fill('.answer [data-field="note"]', 'fine by me');
    await page.fill('.answer [data-field="labels"]', '[1]');
    allowed = /status of 400/;
    await page.click('[data-action="signal"]');
    // A round trip to the server (the 400 naming the field): more than the poll's default second on a loaded machine.
    await expect.poll(() => page.textContent('.answer'), { timeout: 5_000 }).toContain('labels must be string');
    expect(await page.getAttribute('.answer [data-field="labels"]', 'aria-invalid')).not.toBeNull();
    await page.fill('.answer [data-field="labels"]', '');
    await page.click('[data-action="signal"]');
    await page.waitForSelector('.run-meta .badge.status-succeeded', { timeout: 10_000 });
    expect(await page.locator('.banner.waiting').count()).toBe(0);
    const report = (await (await fetch(`${server.url}/api/task/report?taskID=${taskID}`)).json()) as { outputs: unknown };
    expect(report.outputs).toEqual({ approved: true, note: 'fine by me' });
  });

  it('shows each retry attempt of a node as its own run', async () => {
    const schema = failingWorkflow();
    (schema.nodes[2].data as Record<string, unknown>).retry = { maxAttempts: 3, initialDelayMs: 1 };
    const taskID = await runTask(schema);
    await waitForEnd(server.url, taskID);
    await open(`${server.url}/#/task/${taskID}`);
    await page.waitForSelector('.run-meta .badge.status-failed');
    expect(await page.textContent('[data-node-id="boom"] text.detail')).toContain('3 runs');
    await page.click('[data-node-id="boom"]');
    const options = await page.locator('[data-testid="iteration"] option').allTextContents();
    expect(options).toEqual(['Run 1 of 3 (attempt 1) — failed', 'Run 2 of 3 (attempt 2) — failed', 'Run 3 of 3 (attempt 3) — failed']);
    expect(await page.textContent('[data-testid="attempt"]')).toBe('Attempt 1');
    await page.selectOption('[data-testid="iteration"]', '2');
    await expect.poll(() => page.textContent('[data-testid="attempt"]')).toBe('Attempt 3 (a retry)');
    expect(await page.textContent('[data-testid="node-error"]')).toContain('kaput');
  });

  it('downloads the report as JSON', async () => {
    const taskID = await runTask(loopWorkflow());
    await waitForEnd(server.url, taskID);
    await open(`${server.url}/#/task/${taskID}`);
    await page.waitForSelector('.run-meta .badge.status-succeeded');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:text-is("Download report")')]);
    expect(download.suggestedFilename()).toBe(`flowgram-report-${taskID}.json`);
    const report = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { id: string; outputs: unknown; workflowStatus: { status: string } };
    expect(report.id).toBe(taskID);
    expect(report.workflowStatus.status).toBe('succeeded');
    expect(report.outputs).toEqual({ result: [9, 64, 144] });
  });

  it('starts a run from an uploaded file, and from the workflow and inputs of an earlier run', async () => {
    const earlier = await runTask({ ...greetingWorkflow(), title: 'Earlier greeter' }, { name: 'Grace', count: 4 });
    await waitForEnd(server.url, earlier);
    await open(`${server.url}/#/new`);
    await page.setInputFiles('#workflow-file', { name: 'loop.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(loopWorkflow())) });
    await expect.poll(() => page.locator('[data-field="numbers"]').count()).toBe(1);
    expect(JSON.parse(await page.inputValue('[data-field="numbers"]'))).toEqual([3, 8, 12]);
    await page.fill('[data-field="numbers"]', '[2, 5]');
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/task\//);
    await page.waitForSelector('.run-meta .badge.status-succeeded', { timeout: 15_000 });
    expect(await page.textContent('.panel')).toContain('25');

    await page.goto(`${server.url}/#/new`);
    await page.waitForSelector(`#workflow-earlier option[value="${earlier}"]`, { state: 'attached' });
    expect(await page.textContent(`#workflow-earlier option[value="${earlier}"]`)).toContain('Earlier greeter');
    await page.selectOption('#workflow-earlier', earlier);
    await expect.poll(() => page.inputValue('[data-field="name"]')).toBe('Grace');
    expect(await page.inputValue('[data-field="count"]')).toBe('4');
    expect(JSON.parse(await page.inputValue('#workflow-json'))).toMatchObject({ title: 'Earlier greeter' });
    await page.click('button:text-is("Validate")');
    await expect.poll(() => page.textContent('.start [aria-live]')).toBe('Valid.');
  });

  it('pages through a long history', async () => {
    const title = `Paged ${Date.now()}`;
    for (let i = 0; i < 23; i++) await runTask({ ...helloSchema(), title }, { name: String(i) });
    await open(`${server.url}/#/runs?q=${encodeURIComponent(title)}`);
    await expect.poll(() => page.textContent('[data-testid="range"]')).toBe('1–20 of 23');
    expect(await page.locator('.runs-table tbody tr').count()).toBe(20);
    const firstPage = await page.locator('.runs-table tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-task-id')));
    await page.click('button:text-is("Older →")');
    await expect.poll(() => page.textContent('[data-testid="range"]')).toBe('21–23 of 23');
    const secondPage = await page.locator('.runs-table tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-task-id')));
    expect(secondPage).toHaveLength(3);
    expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
    expect(await page.isDisabled('button:text-is("Older →")')).toBe(true);
    await page.click('button:text-is("← Newer")');
    await expect.poll(() => page.textContent('[data-testid="range"]')).toBe('1–20 of 23');
  });

  it('is readable on a phone-width screen: runs, start form and viewer, nothing wider than the screen', async () => {
    const taskID = await runTask(branchingWorkflow(), { n: 9 });
    await waitForEnd(server.url, taskID);
    const phone = { width: 390, height: 844 };
    const pageWidth = (): Promise<number> => page.evaluate<number>('document.documentElement.scrollWidth');

    await open(`${server.url}/#/runs`, phone);
    await page.waitForSelector('.runs-table');
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    // Status, workflow and start time stay visible; the task ID is one tap away (the title links to it).
    expect(await page.isVisible(`tr[data-task-id="${taskID}"] .badge`)).toBe(true);
    await page.screenshot({ path: `${SHOTS}phone-runs.png` });

    await page.goto(`${server.url}/#/new`);
    await page.fill('#workflow-json', JSON.stringify(greetingWorkflow()));
    await page.waitForSelector('[data-field="name"]');
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SHOTS}phone-start.png`, fullPage: true });

    await page.goto(`${server.url}/#/task/${taskID}`);
    await page.waitForSelector('.run-meta .badge.status-failed');
    await page.click('.banner.error button');
    await page.waitForSelector('[data-testid="error-line"]');
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SHOTS}phone-viewer.png`, fullPage: true });
  });

  it('shows secrets redacted wherever they went: inputs, outputs, logs', async () => {
    const key = 'sk-console-test-7a9f3c';
    const guarded = await startTestServer({ runtimeOptions: { secrets: new SecretStore({ values: { API_KEY: key }, env: false }) } });
    try {
      const script = "async function main({ params }) {\n  console.log('using ' + params.key);\n  return { result: 'sent ' + params.key };\n}";
      const schema = { title: 'Uses a secret', nodes: [greetingWorkflow().nodes[0], codeNode('code_0', 'Call', script, { key: ref('secrets', 'API_KEY') }, 300), endNode(600, 'code_0')], edges: [edge('start_0', 'code_0'), edge('code_0', 'end_0')] } as Schema;
      const run = await postJson<{ taskID: string }>(`${guarded.url}/api/task/run`, { schema, inputs: { name: 'x', count: 1 } });
      expect(run.status).toBe(200);
      await waitForEnd(guarded.url, run.body.taskID);
      await open(`${guarded.url}/#/task/${run.body.taskID}`);
      await page.waitForSelector('.run-meta .badge.status-succeeded');
      await page.click('[data-node-id="code_0"]');
      await expect.poll(() => page.textContent('[data-testid="logs"]')).toContain('[redacted]');
      expect(await page.textContent('.panel')).toContain('sent [redacted]');
      expect(await page.textContent('body')).not.toContain(key);
      await page.click('.node-head .link');
      expect(await page.textContent('.panel')).toContain('sent [redacted]');
      expect(await page.textContent('body')).not.toContain(key);
    } finally {
      await guarded.close();
    }
  });

  describe('with FLOWGRAM_API_TOKEN', () => {
    let guarded: TestServer;
    beforeAll(async () => {
      guarded = await startTestServer({ apiToken: 's3cret' });
    });
    afterAll(async () => {
      await guarded?.close();
    });

    it('asks for the token once, keeps it for the tab and sends it as a header (the stream too)', async () => {
      await open(`${guarded.url}/`);
      allowed = /401/;
      await page.waitForSelector('#token');
      await page.fill('#token', 'wrong');
      await page.press('#token', 'Enter');
      await page.waitForSelector('.token [role=alert]');
      await page.fill('#token', 's3cret');
      await page.press('#token', 'Enter');
      await page.waitForSelector('.runs-table, .empty');
      expect(await page.evaluate<string | null>("sessionStorage.getItem('flowgram.console.token')")).toBe('s3cret');

      const run = await postJson<{ taskID: string }>(`${guarded.url}/api/task/run`, { schema: slowSchema(300), inputs: { name: 't' } }, 'POST', { authorization: 'Bearer s3cret' });
      await page.goto(`${guarded.url}/#/task/${run.body.taskID}`);
      await page.waitForSelector('.run-meta .badge.status-succeeded', { timeout: 10_000 });
      expect(await page.locator('#token').count()).toBe(0);
    });
  });
});
