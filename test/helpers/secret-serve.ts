/**
 * Drives a real `flowgram serve` process through every way a secret could leave it: each HTTP
 * answer, the SSE stream, the viewer page, listings, metrics and its log lines.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/flowgram.js', import.meta.url));

export interface ServeProcess {
  base: string;
  /** Everything it wrote to stdout and stderr so far (its logs). */
  output(): string;
  stop(): Promise<number | NodeJS.Signals>;
}

export function serve(args: string[], env: Record<string, string>): Promise<ServeProcess> {
  return launch(['serve', '--port', '0', ...args], env, /listening on (http:\/\/[\d.:]+)/);
}

/** A `flowgram worker`, once it takes tasks (`base` is unused). */
export function worker(args: string[], env: Record<string, string>): Promise<ServeProcess> {
  return launch(['worker', ...args], env, /flowgram worker taking tasks()/);
}

function launch(args: string[], env: Record<string, string>, ready: RegExp): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal as NodeJS.Signals))));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        resolve({
          base: match[1],
          output: () => output,
          stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(Object.assign(new Error(`flowgram ${args[0]} exited (${code})`), { code, output })));
  });
}

/** Runs a `serve` (or `worker`) that should refuse to start; its exit code and output. */
export async function refusedToStart(start: Promise<ServeProcess>): Promise<{ code: unknown; output: string }> {
  try {
    const running = await start;
    await running.stop();
    return { code: 0, output: running.output() };
  } catch (error) {
    const { code, output } = error as { code: unknown; output: string };
    return { code, output };
  }
}

/** Starts a task and reads every answer about it; resolves with all the texts and the task ID. */
export async function exerciseTask(
  base: string,
  schema: object,
  headers: Record<string, string> = {},
): Promise<{ taskID: string; texts: string[]; status: string; outputs: Record<string, unknown> }> {
  const texts: string[] = [];
  const get = async (path: string, accept = 'application/json'): Promise<string> => {
    const response = await fetch(`${base}${path}`, { headers: { accept, ...headers } });
    const text = await response.text();
    texts.push(text);
    return text;
  };
  const started = await fetch(`${base}/api/task/run`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ schema, inputs: {} }) });
  const startText = await started.text();
  texts.push(startText);
  const { taskID } = JSON.parse(startText) as { taskID: string };
  await get(`/api/task/stream?taskID=${taskID}`, 'text/event-stream');
  const outputs = JSON.parse(await get(`/api/task/result?taskID=${taskID}&wait=20000`)) as Record<string, unknown>;
  const report = JSON.parse(await get(`/api/task/report?taskID=${taskID}`)) as { workflowStatus: { status: string } };
  await get(`/api/task/view?taskID=${taskID}`, 'text/html');
  await get(`/api/task/schema?taskID=${taskID}`);
  await get('/api/tasks');
  await get('/metrics', 'text/plain');
  const validation = await fetch(`${base}/api/task/validate`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ schema, inputs: {} }) });
  texts.push(await validation.text());
  return { taskID, texts, status: report.workflowStatus.status, outputs };
}

/** Files under `dir` (recursively) whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const bytes = Buffer.from(needle, 'utf8');
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesContaining(path, needle));
    else if (entry.isFile() && statSync(path).size > 0 && readFileSync(path).includes(bytes)) found.push(path);
  }
  return found;
}
