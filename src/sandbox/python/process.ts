/**
 * Starts a Python interpreter process walled off from the host. What contains a script is what the
 * process was never given, checked by the OS and by Node, not by the harness:
 * - Node's permission model: it may read pyodide's own files and nothing else; no writes, no child
 *   processes, no worker threads, no native addons (`--no-addons` too), no code from strings;
 * - an empty environment and no file descriptors but its IPC channel (its output goes nowhere);
 * - where the machine allows it, a network namespace of its own (no interface but a down loopback),
 *   and, when the server runs as root, the unprivileged user `nobody`.
 * The process reads its program from the command line, so it needs no file of the project.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join, parse, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SANDBOX_THREAD_NICE } from '../thread-priority.js';
import type { PoolWorker } from '../worker-pool.js';
import { HARNESS_SOURCE } from './harness.js';
import type { InterpreterInit } from './protocol.js';

const NOBODY = 65_534;

/** How processes are wrapped on this machine, found out once by trying. */
export interface Confinement {
  /** The command line put before `node`. */
  wrapper: string[];
  /** The process has no network at all (its own network namespace). */
  networkIsolated: boolean;
  /** The process runs as `nobody` (only when the server runs as root). */
  unprivileged: boolean;
}

function findTool(name: string): string | undefined {
  return ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((dir) => join(dir, name)).find((path) => existsSync(path));
}

function succeeds(command: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const [file, ...args] = command;
    if (!file) return resolve(false);
    const child = spawn(file, args, { stdio: 'ignore', env: {} });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

let confinement: Promise<Confinement> | undefined;

/** The strongest wrapper this machine grants: tried in order, each checked by running `node -e 0` in it. */
export function probeConfinement(): Promise<Confinement> {
  confinement ??= (async () => {
    const unshare = findTool('unshare');
    const setpriv = findTool('setpriv');
    const asRoot = process.getuid?.() === 0;
    const drop = setpriv && asRoot ? [setpriv, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'] : undefined;
    const candidates: Confinement[] = [];
    if (unshare && asRoot && drop) candidates.push({ wrapper: [unshare, '--net', '--', ...drop], networkIsolated: true, unprivileged: true });
    // Without root, a user namespace makes the network namespace possible where the kernel allows it.
    if (unshare && !asRoot) candidates.push({ wrapper: [unshare, '--user', '--net', '--'], networkIsolated: true, unprivileged: false });
    if (unshare && asRoot) candidates.push({ wrapper: [unshare, '--net', '--'], networkIsolated: true, unprivileged: false });
    if (drop) candidates.push({ wrapper: drop, networkIsolated: false, unprivileged: true });
    for (const candidate of candidates) {
      if (await succeeds([...candidate.wrapper, process.execPath, '-e', '0'])) return candidate;
    }
    return { wrapper: [], networkIsolated: false, unprivileged: false };
  })();
  return confinement;
}

/** True when every directory above `path` lets others through and `path` lets others read. */
function readableByOthers(path: string): boolean {
  let current = path;
  const root = parse(path).root;
  for (;;) {
    const mode = statSync(current).mode;
    if ((mode & 0o005) !== 0o005) return false;
    if (current === root) return true;
    current = dirname(current);
  }
}

/** pyodide's files, where an unprivileged process can read them (a private copy when the install is not). */
function pyodideDirFor(unprivileged: boolean): { dir: string; cleanup?: () => void } {
  const dir = dirname(createRequire(import.meta.url).resolve('pyodide/package.json'));
  if (!unprivileged || readableByOthers(dir)) return { dir };
  const copy = mkdtempSync(join(tmpdir(), 'flowgram-pyodide-'));
  cpSync(dir, copy, { recursive: true });
  chmodSync(copy, 0o755);
  for (const name of readdirSync(copy)) chmodSync(join(copy, name), 0o644);
  return { dir: copy, cleanup: () => rmSync(copy, { recursive: true, force: true }) };
}

let program: string | undefined;

/** The interpreter's program as source text: the build's JavaScript, or the TypeScript source stripped of its types. */
function interpreterProgram(): string {
  if (program !== undefined) return program;
  const compiled = fileURLToPath(new URL('./interpreter-process.js', import.meta.url));
  if (existsSync(compiled)) {
    program = readFileSync(compiled, 'utf8');
  } else {
    const sucrase = createRequire(import.meta.url)('sucrase') as typeof import('sucrase');
    const source = readFileSync(compiled.replace(/\.js$/, '.ts'), 'utf8');
    program = sucrase.transform(source, { transforms: ['typescript'], disableESTransforms: true }).code;
  }
  return program;
}

/** Where interpreters read pyodide from, shared by the processes of one runner. */
export interface PyodideFiles {
  dir: string;
  cleanup?: () => void;
}

export async function preparePyodideFiles(): Promise<{ files: PyodideFiles; confinement: Confinement }> {
  const found = await probeConfinement();
  return { files: pyodideDirFor(found.unprivileged), confinement: found };
}

/**
 * The command line of a confined Node process running `program` (ES module source) with `readableDir`
 * as its first argument and the only place it may read. Spawn it with `env: {}` and no stdio but IPC.
 */
export function confinedNodeCommand(found: Confinement, readableDir: string, heapMb: number, program: string): string[] {
  const readable = readableDir.endsWith(sep) ? readableDir : readableDir + sep;
  return [
    ...found.wrapper,
    process.execPath,
    '--experimental-permission',
    `--allow-fs-read=${readable}`,
    '--no-addons',
    '--disallow-code-generation-from-strings',
    '--no-warnings',
    `--max-old-space-size=${heapMb}`,
    '--input-type=module',
    '-e',
    program,
    readable,
  ];
}

export interface InterpreterProcessOptions {
  /** Resolves to where pyodide is and how to wrap the process (probed once per runner). */
  setup: Promise<{ files: PyodideFiles; confinement: Confinement }>;
  /** Read when the process starts: later processes start from the image the first one made. */
  init: () => InterpreterInit;
  /** JavaScript heap of the process (MiB); the Python heap is capped per run by `memoryBytes`. */
  heapMb: number;
  /** The Python harness it runs scripts with. Default: the sandbox's (./harness.ts). */
  harness?: string;
}

/**
 * One interpreter process, shaped as the worker pool expects (messages, ref/unref, terminate).
 * It is spawned once the machine's confinement is known; messages sent before that wait.
 */
export class InterpreterProcess extends EventEmitter implements PoolWorker {
  private child: ChildProcess | undefined;
  private pending: unknown[] = [];
  private referenced = true;
  private stopped = false;

  constructor(options: InterpreterProcessOptions) {
    super();
    options.setup.then(
      ({ files, confinement: found }) => this.spawn(options, files.dir, found),
      (error: unknown) => this.emit('error', error instanceof Error ? error : new Error(String(error))),
    );
  }

  private spawn(options: InterpreterProcessOptions, dir: string, found: Confinement): void {
    if (this.stopped) return;
    const [file, ...args] = confinedNodeCommand(found, dir, options.heapMb, interpreterProgram());
    const child = spawn(file as string, args, { env: {}, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    this.child = child;
    // A spinning script must not take a core from the host's event loop (as for the JavaScript workers).
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, SANDBOX_THREAD_NICE);
      } catch {
        // not permitted here: it keeps the host's priority
      }
    }
    if (!this.referenced) this.unrefChild();
    child.on('message', (message: unknown) => {
      if (message !== null && typeof message === 'object' && 'startFailed' in message) {
        this.emit('error', new Error(String((message as { startFailed: unknown }).startFailed)));
        return;
      }
      this.emit('message', message);
    });
    child.on('error', (error) => this.emit('error', error));
    child.on('exit', (code, signal) => this.emit('exit', code ?? (signal ? 128 : null)));
    child.send({ ...options.init(), harness: options.harness ?? HARNESS_SOURCE });
    for (const message of this.pending.splice(0)) child.send(message as never);
  }

  postMessage(message: unknown): void {
    if (this.child) this.child.send(message as never);
    else this.pending.push(message);
  }

  ref(): void {
    this.referenced = true;
    this.child?.ref();
    (this.child?.channel as { ref?: () => void } | undefined)?.ref?.();
  }

  unref(): void {
    this.referenced = false;
    this.unrefChild();
  }

  private unrefChild(): void {
    this.child?.unref();
    (this.child?.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  terminate(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      // Held until it is gone: whoever awaits this (runtime.close) must not see the event loop run dry first.
      child.ref();
      child.kill('SIGKILL');
    });
  }
}
