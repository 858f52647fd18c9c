/**
 * A fleet for the cluster tests and the benchmark: a private Redis and PostgreSQL, API servers
 * (`flowgram serve --queue … --db postgres://…`) and workers (`flowgram worker …`) as child processes
 * of bin/flowgram.js (which runs dist/, built by the vitest global setup or `npm run build`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startPostgres, type PostgresInstance } from './postgres.js';
import { startRedis, type RedisInstance } from './redis.js';

const BIN = fileURLToPath(new URL('../../bin/flowgram.js', import.meta.url));

export interface FleetProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  readonly stderr: () => string;
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

export interface ApiServer extends FleetProcess {
  readonly url: string;
}

export interface Worker extends FleetProcess {
  /** Where its Prometheus metrics are served. */
  readonly metricsURL: string;
}

export interface RunResult {
  code: number | NodeJS.Signals;
  stdout: string;
  stderr: string;
}

/** Runs `flowgram <args>` to its end. */
export function runCli(args: string[], timeoutMs = 30_000): Promise<RunResult> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal as NodeJS.Signals), stdout, stderr });
    });
  });
}

/** Spawns `flowgram <args>` and resolves once a stderr line matches `ready`. */
function launch(args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<{ process: FleetProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal as NodeJS.Signals))));
  const fleetProcess: FleetProcess = {
    child,
    stderr: () => stderr,
    exited,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = stderr.match(ready);
      if (match) resolve({ process: fleetProcess, match });
    });
    void exited.then((code) => reject(new Error(`flowgram ${args[0]} exited (${code}) before it was ready:\n${stderr}`)));
  });
}

export class Fleet {
  readonly servers: ApiServer[] = [];
  readonly workers: Worker[] = [];

  private constructor(
    readonly redis: RedisInstance,
    readonly postgres: PostgresInstance,
  ) {}

  static async start(): Promise<Fleet> {
    const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    return new Fleet(redis, postgres);
  }

  /** An API server in queue mode; with `queue: false`, one that runs tasks itself (same store). */
  async startServer(queue = true): Promise<ApiServer> {
    const { process: server, match } = await launch(
      ['serve', ...(queue ? ['--queue', this.redis.url] : []), '--db', this.postgres.url, '--port', '0', '--log-level', 'warn'],
      /listening on (http:\/\/[^\s]+)/,
      { FLOWGRAM_API_TOKEN: '' },
    );
    const api = Object.assign(server, { url: match[1] });
    this.servers.push(api);
    return api;
  }

  /** `lockMs` short, so that a killed worker's tasks are handed on within seconds. */
  async startWorker(concurrency = 4, lockMs = 2_000): Promise<Worker> {
    const { process: worker, match } = await launch(
      [
        'worker',
        '--queue',
        this.redis.url,
        '--db',
        this.postgres.url,
        '--concurrency',
        String(concurrency),
        '--lock-ms',
        String(lockMs),
        '--metrics-port',
        '0',
      ],
      /metrics on (http:\/\/[^\s)]+)/,
    );
    const fleetWorker = Object.assign(worker, { metricsURL: match[1] });
    this.workers.push(fleetWorker);
    return fleetWorker;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.servers, ...this.workers].map((member) => member.stop('SIGKILL')));
    await Promise.all([this.redis.stop(), this.postgres.stop()]);
  }
}

/** A JSON request to an API server; resolves with status and parsed body. */
export async function call<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** One number from a Prometheus exposition text, e.g. `flowgram_tasks_started_total`; 0 when absent. */
export function metricValue(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}
