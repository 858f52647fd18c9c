/**
 * The Python sandbox's wall, tried as an attacker who already got past its first layer (the harness's
 * AST check and audit hook): what the interpreter process can reach, and what one execution can leave
 * for the next. A secret file (world-readable, so only the sandbox stands in the way), a secret
 * environment variable and a TCP server on 127.0.0.1 are planted; none may be reached.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/index.js';
import { DEFAULT_CODE_LIMITS } from '../src/sandbox/limits.js';
import { confinedNodeCommand, InterpreterProcess, preparePyodideFiles, probeConfinement } from '../src/sandbox/python/process.js';
import type { HarnessResult, InterpreterRequest, InterpreterResult } from '../src/sandbox/python/protocol.js';
import { WorkerPool } from '../src/sandbox/worker-pool.js';
import { runCodeWorkflow } from './helpers/code-workflow.js';

const SECRET_FILE_TEXT = `file-secret-${randomBytes(12).toString('hex')}`;
const SECRET_ENV_VALUE = `env-secret-${randomBytes(12).toString('hex')}`;
const SECRET_PARAM = `param-secret-${randomBytes(12).toString('hex')}`;
let secretDir: string;
let server: Server;
let port: number;
let connections = 0;

beforeAll(async () => {
  secretDir = mkdtempSync(join(tmpdir(), 'flowgram-py-secret-'));
  chmodSync(secretDir, 0o755);
  writeFileSync(join(secretDir, 'secret.txt'), SECRET_FILE_TEXT, { mode: 0o644 });
  process.env.FLOWGRAM_TEST_PYTHON_SECRET = SECRET_ENV_VALUE;
  server = createServer((socket) => {
    connections++;
    socket.end('hello from the host\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  delete process.env.FLOWGRAM_TEST_PYTHON_SECRET;
  await new Promise((resolve) => server.close(resolve));
  rmSync(secretDir, { recursive: true, force: true });
});

function expectNoSecret(text: string): void {
  expect(text).not.toContain(SECRET_FILE_TEXT);
  expect(text).not.toContain(SECRET_ENV_VALUE);
}

describe('the interpreter process, running arbitrary JavaScript', () => {
  it('can read no host file, write none, start no process, thread or addon, reach no network and see no environment', async () => {
    const confinement = await probeConfinement();
    const secretPath = join(secretDir, 'secret.txt');
    // What a script gains if it reaches the JavaScript side of its interpreter and can run any code there.
    const program = `
      import fs from 'node:fs';
      import cp from 'node:child_process';
      import net from 'node:net';
      import { Worker } from 'node:worker_threads';
      const outcome = {};
      async function attempt(name, action) {
        try { outcome[name] = 'allowed: ' + String(await action()).slice(0, 300); }
        catch (error) { outcome[name] = 'refused: ' + (error.code || error.message); }
      }
      await attempt('read', () => fs.readFileSync(${JSON.stringify(secretPath)}, 'utf8'));
      await attempt('write', () => fs.writeFileSync(${JSON.stringify(join(secretDir, 'written-by-js.txt'))}, 'x'));
      await attempt('environ', () => fs.readFileSync('/proc/self/environ', 'utf8'));
      await attempt('spawn', () => cp.execFileSync('/bin/cat', [${JSON.stringify(secretPath)}]).toString());
      await attempt('worker', () => new Worker('1', { eval: true }));
      await attempt('addon', () => process.dlopen({ exports: {} }, '/usr/lib/x86_64-linux-gnu/libc.so.6'));
      await attempt('eval', () => eval('1 + 1'));
      await attempt('Function', () => new Function('return 1')());
      await attempt('connect', () => new Promise((resolve, reject) => {
        const socket = net.connect(${port}, '127.0.0.1', () => resolve('connected'));
        socket.on('error', reject);
        socket.setTimeout(2000, () => reject(new Error('timed out')));
      }));
      outcome.env = Object.keys(process.env);
      outcome.uid = process.getuid();
      process.send(outcome);
    `;
    const [file, ...args] = confinedNodeCommand(confinement, secretDir.replace(/secret.*$/, 'nothing-here'), 64, program);
    const child = spawn(file as string, args, { env: {}, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    const outcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (message) => resolve(message as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`the confined process exited with ${code} before answering`)));
    });
    child.kill('SIGKILL');
    expect(outcome.read).toBe('refused: ERR_ACCESS_DENIED');
    expect(outcome.write).toBe('refused: ERR_ACCESS_DENIED');
    expect(outcome.environ).toBe('refused: ERR_ACCESS_DENIED');
    expect(outcome.spawn).toBe('refused: ERR_ACCESS_DENIED');
    expect(outcome.worker).toBe('refused: ERR_ACCESS_DENIED');
    expect(outcome.addon).toMatch(/^refused: (ERR_DLOPEN_DISABLED|ERR_ACCESS_DENIED)$/);
    expect(outcome.eval).toMatch(/^refused: Code generation from strings disallowed/);
    expect(outcome.Function).toMatch(/^refused: Code generation from strings disallowed/);
    // The network: none at all in its own network namespace (the machine running these tests allows one).
    expect(confinement.networkIsolated).toBe(true);
    expect(outcome.connect).toMatch(/^refused: /);
    expect(connections).toBe(0);
    expect(outcome.env).toEqual([]);
    if (process.getuid?.() === 0) {
      expect(confinement.unprivileged).toBe(true);
      expect(outcome.uid).toBe(65_534);
    }
    expect(existsSync(join(secretDir, 'written-by-js.txt'))).toBe(false);
    expectNoSecret(JSON.stringify(outcome));
  });
});

/**
 * A harness without the first layer: scripts get every builtin, `import pyodide_js` (pyodide's
 * JavaScript API) and the whole standard library, as if the AST check and the audit hook were beaten.
 */
const OPEN_HARNESS = String.raw`
import json as _json

def _flowgram_configure(allowed_json):
    pass

def _flowgram_compile(source):
    return source

def _flowgram_run(source, params_json, limits_json):
    namespace = {'__name__': '__script__'}
    try:
        exec(compile(source, '<script>', 'exec'), namespace)
        return _json.dumps({'ok': True, 'value': namespace['main'](_json.loads(params_json)), 'logs': []})
    except BaseException as error:
        return _json.dumps({'ok': False, 'error': f'{type(error).__name__}: {error}', 'logs': []})
`;

describe('the interpreter, reached by a script that beat the harness', () => {
  let pool: WorkerPool<InterpreterRequest, InterpreterResult>;
  const setup = preparePyodideFiles();

  beforeAll(async () => {
    pool = new WorkerPool({ size: 1, start: () => new InterpreterProcess({ setup, init: () => ({ allowedModules: [] }), heapMb: 256, harness: OPEN_HARNESS }) });
    await pool.warm(1);
  }, 180_000);

  afterAll(async () => {
    await pool.close();
    (await setup).files.cleanup?.();
  });

  /** The harness's answer for `source`. */
  async function run(source: string, params: unknown = {}): Promise<HarnessResult> {
    const { answer } = await pool.run(
      { source, paramsJSON: JSON.stringify(params), limits: { ...DEFAULT_CODE_LIMITS, timeoutMs: 20_000 } },
      { deadlineMs: 20_000, onDeadline: () => ({ answer: { ok: false, error: 'deadline', logs: [] } }) },
    );
    return answer;
  }

  it('reaches no host file, environment or network through pyodide’s JavaScript API', async () => {
    const result = await run(
      String.raw`
import os, sys, pyodide_js

def attempt(action):
    try:
        return 'allowed: ' + str(action())[:300]
    except BaseException as error:
        return 'refused: ' + type(error).__name__

def mount_and_read():
    pyodide_js.mountNodeFS('/host', ${JSON.stringify(secretDir)})
    return open('/host/secret.txt').read()

def mount_root():
    pyodide_js.mountNodeFS('/root-of-host', '/')
    return os.listdir('/root-of-host')

def proc_environ():
    pyodide_js.mountNodeFS('/host-proc', '/proc')
    return open('/host-proc/self/environ').read()

def write_host():
    pyodide_js.mountNodeFS('/host-write', ${JSON.stringify(secretDir)})
    with open('/host-write/written-by-python.txt', 'w') as handle:
        handle.write('x')
    return 'written'

def connect():
    import socket
    return socket.create_connection(('127.0.0.1', ${port}), timeout=2).recv(100)

def js_fetch():
    import js
    return js.fetch

def main(p):
    return {
        'mount': attempt(mount_and_read),
        'root': attempt(mount_root),
        'environ': attempt(proc_environ),
        'write': attempt(write_host),
        'socket': attempt(connect),
        'fetch': attempt(js_fetch),
        'local_file': attempt(lambda: open(${JSON.stringify(join(secretDir, 'secret.txt'))}).read()),
        'env': dict(os.environ),
    }
`,
    );
    expect(result.ok).toBe(true);
    const outcome = (result as { value: Record<string, unknown> }).value;
    for (const name of ['mount', 'root', 'environ', 'write', 'socket', 'fetch', 'local_file']) expect(outcome[name]).toMatch(/^refused: /);
    expect(Object.keys(outcome.env as object)).not.toContain('FLOWGRAM_TEST_PYTHON_SECRET');
    expect(existsSync(join(secretDir, 'written-by-python.txt'))).toBe(false);
    expect(connections).toBe(0);
    expectNoSecret(JSON.stringify(result));
  }, 180_000);

  it('costs the script its process: what it left on JavaScript objects is gone for the next execution', async () => {
    // JavaScript objects are not in the memory image, so only a new process makes them new again.
    const left = await run('import pyodide_js\ndef main(p):\n    pyodide_js._module.flowgram_stash = "left behind"\n    return "set"');
    expect(left).toMatchObject({ ok: true, value: 'set' });
    const look = await run('import pyodide_js\ndef main(p):\n    return str(getattr(pyodide_js._module, "flowgram_stash", None))');
    expect(look).toMatchObject({ ok: true, value: 'None' });
  }, 180_000);

  it('leaves nothing for the next execution: patched harness code, recorded params, module state, garbage', async () => {
    const counts = 'import gc, sys\ndef main(p):\n    return [len(gc.get_objects()), len(sys.modules)]';
    const before = await run(counts);
    const attack = await run(
      String.raw`
import json, sys, builtins, decimal, textwrap, fractions
seen = []
builtins.stolen = seen
real_loads = json.loads
def recording_loads(text, *args, **kwargs):
    seen.append(text)
    return real_loads(text, *args, **kwargs)
json.loads = recording_loads
json.dumps = lambda *args, **kwargs: '{"ok": true, "value": "pwned", "logs": []}'
decimal.DefaultContext.prec = 3
decimal.getcontext().prec = 3
textwrap.TextWrapper.unicode_whitespace_trans[32] = 'X'
fractions.Fraction.stash = 'left behind'
sys.modules['__main__'].__dict__['_flowgram_run'] = None
junk = [object() for _ in range(50000)]
sys.modules['junk'] = junk
def main(p):
    return 'patched'
`,
    );
    expect(attack).toMatchObject({ ok: true, value: 'pwned' });
    // The victim: another task's params go through the same interpreter process.
    const victim = await run('import json\ndef main(p):\n    return {"echo": p["secret"], "dumps": json.dumps([1])}', { secret: SECRET_PARAM });
    expect(victim).toMatchObject({ ok: true, value: { echo: SECRET_PARAM, dumps: '[1]' } });
    const look = await run(
      String.raw`
import builtins, decimal, textwrap, fractions, sys
def main(p):
    return {
        'stolen': repr(getattr(builtins, 'stolen', None)),
        'prec': [decimal.DefaultContext.prec, decimal.getcontext().prec],
        'trans': textwrap.TextWrapper.unicode_whitespace_trans[32],
        'stash': hasattr(fractions.Fraction, 'stash'),
        'junk': 'junk' in sys.modules,
    }
`,
    );
    expect(look.ok && look.value).toEqual({ stolen: 'None', prec: [28, 28], trans: 32, stash: false, junk: false });
    expect(JSON.stringify(look)).not.toContain(SECRET_PARAM);
    expect(await run(counts)).toMatchObject({ ok: true, value: (before as { value: unknown }).value });
  }, 180_000);
});

describe('python code nodes in a runtime, attacked through the issue’s escape chain', () => {
  let runtime: Runtime;

  beforeAll(async () => {
    runtime = createRuntime({ limits: { code: { workers: 1, timeoutMs: 20_000 } } });
    await runCodeWorkflow(runtime, 'def main(p):\n    return 1', {}, { language: 'python' });
  }, 180_000);

  afterAll(async () => {
    await runtime.close();
  });

  const ATTACKS: Record<string, string> = {
    'an exception’s obj': 'import json\ndef main(p):\n    try:\n        json.nope\n    except AttributeError as error:\n        return str(error.obj)\n',
    'the real module behind the view': 'import json\ndef main(p):\n    try:\n        json.nope\n    except AttributeError as error:\n        return str(error.obj.sys.modules["builtins"].getattr)\n',
    'singledispatch(exec)': 'import functools\ndef main(p):\n    run = functools.singledispatch(exec)\n    return run("import os; result = os.environ")\n',
    'a gc walk to the JavaScript proxies': 'import gc\ndef main(p):\n    return [repr(o)[:80] for o in gc.get_objects() if "JsProxy" in type(o).__name__]\n',
    'mountNodeFS': 'import pyodide_js\ndef main(p):\n    pyodide_js.mountNodeFS("/host", "/")\n    return open("/host/etc/hostname").read()\n',
    '/proc/self/environ': 'def main(p):\n    return open("/proc/self/environ").read()\n',
    'writing a file': 'def main(p):\n    with open("/tmp/flowgram-python-wrote-this", "w") as handle:\n        handle.write("x")\n    return "written"\n',
    'the environment': 'import os\ndef main(p):\n    return dict(os.environ)\n',
    'a subclass walk': 'def main(p):\n    return [c.__name__ for c in ().__class__.__base__.__subclasses__()]\n',
  };

  it.each(Object.entries(ATTACKS))('fails or holds nothing of the host: %s', async (_name, source) => {
    const run = await runCodeWorkflow(runtime, source, {}, { language: 'python' });
    if (run.status === 'succeeded') expectNoSecret(JSON.stringify(run.nodeOutputs));
    else expect(run.nodeError).toBeTruthy();
    expectNoSecret(JSON.stringify(run));
    expect(existsSync('/tmp/flowgram-python-wrote-this')).toBe(false);
  });

  it('lets no task see what another left: module and class state, the decimal context', async () => {
    const leave = await runCodeWorkflow(
      runtime,
      'import decimal, textwrap\ndef main(p):\n    decimal.DefaultContext.prec = 3\n    textwrap.TextWrapper.unicode_whitespace_trans[32] = p["params"]["secret"]\n    return 1\n',
      { secret: SECRET_PARAM },
      { language: 'python', params: ['secret'] },
    );
    expect(leave.nodeError).toBeUndefined();
    // Setting a class attribute is refused by the first layer; refused or not, the next task must not see it.
    await runCodeWorkflow(runtime, 'import fractions\ndef main(p):\n    fractions.Fraction.stash = p["params"]["secret"]\n    return 1\n', { secret: SECRET_PARAM }, { language: 'python', params: ['secret'] });
    const look = await runCodeWorkflow(
      runtime,
      'import decimal, textwrap, fractions\ndef main(p):\n    return {"prec": decimal.DefaultContext.prec, "trans": textwrap.TextWrapper.unicode_whitespace_trans[32], "stash": "stash" in dir(fractions.Fraction)}\n',
      {},
      { language: 'python', outputs: ['prec', 'trans', 'stash'] },
    );
    expect(look.nodeOutputs).toEqual({ prec: 28, trans: 32, stash: false });
    expect(JSON.stringify(look)).not.toContain(SECRET_PARAM);
  });
});
