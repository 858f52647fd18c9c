/**
 * The `flowgram` command as a child process (bin/flowgram.js on the build in dist/): progress lines,
 * exit codes, stdout JSON, bad files, and `serve` with a graceful SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowGramAPIName, FlowGramAPIs } from '@flowgram.ai/runtime-interface';
import { afterAll, describe, expect, it } from 'vitest';
import { startEchoServer } from './helpers/echo-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/flowgram.js');
const scratch = mkdtempSync(join(tmpdir(), 'flowgram-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function flowgram(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 20_000 });
}

function scratchFile(name: string, content: unknown): string {
  const path = join(scratch, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** A workflow that fails at run time with built-in nodes only: a loop over a string. */
function failingWorkflow(): unknown {
  return {
    nodes: [
      { id: 'start_0', type: 'start', data: { title: 'Start', outputs: { type: 'object', properties: { items: { type: 'string', default: 'oops' } } } } },
      {
        id: 'loop_0',
        type: 'loop',
        data: { title: 'Loop', loopFor: { type: 'ref', content: ['start_0', 'items'] } },
        blocks: [
          { id: 'bs', type: 'block-start', data: {} },
          { id: 'be', type: 'block-end', data: {} },
        ],
        edges: [{ sourceNodeID: 'bs', targetNodeID: 'be' }],
      },
      { id: 'end_0', type: 'end', data: { title: 'End' } },
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'loop_0' },
      { sourceNodeID: 'loop_0', targetNodeID: 'end_0' },
    ],
  };
}

const lines = (text: string) => text.split('\n').filter(Boolean);

describe('flowgram --version / --help', () => {
  it('prints the package version', () => {
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
    const result = flowgram(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('lists the commands, and each command has its own help', () => {
    const help = flowgram(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['serve', 'run', 'validate']) expect(help.stdout).toContain(command);
    const runHelp = flowgram(['run', '--help']);
    expect(runHelp.status).toBe(0);
    expect(runHelp.stdout).toContain('--inputs-file');
    expect(flowgram(['serve', '--help']).stdout).toContain('--port');
  });

  it('exits 2 on an unknown command or option', () => {
    expect(flowgram(['explode']).status).toBe(2);
    const bad = flowgram(['run', 'examples/hello.json', '--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--bogus');
  });
});

describe('flowgram run', () => {
  it('prints the outputs as JSON on stdout and one plain progress line per node on stderr', () => {
    const result = flowgram(['run', 'examples/hello.json', '--inputs', '{"name":"CLI"}']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ greeting: 'Hello, CLI!', name: 'CLI' });
    const progress = lines(result.stderr);
    expect(progress[0]).toMatch(/^✔ Start \(start\) \d+ ms$/);
    expect(progress[1]).toMatch(/^✔ End \(end\) \d+ ms$/);
    expect(progress.at(-1)).toMatch(/^✔ workflow succeeded in \d+ ms$/);
  });

  it.each([
    ['branches.json', '{"age":12}', { message: 'sorry, come back in 6 years' }],
    ['code.json', '{"text":"a bb ccc"}', { wordCount: 3, longest: 'ccc', upper: 'A BB CCC' }],
  ])('runs examples/%s', (file, inputs, expected) => {
    const result = flowgram(['run', `examples/${file}`, '--inputs', inputs]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(expected);
  });

  it('runs the loop-with-break example', () => {
    const result = flowgram(['run', 'examples/loop-break.json', '--inputs', '{"numbers":[1,50,2],"limit":10}']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ taken: [1] });
    expect(result.stderr).toMatch(/✔ Break \(break\) \[2\/3\] \d+ ms/);
  });

  // `script` (util-linux) gives the child a pseudo-terminal, so stderr is a TTY.
  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasScript)('redraws live spinner lines in place when stderr is a terminal', () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} run examples/loop-break.json`;
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 20_000 });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Take until over limit \(loop\) \d+ ms/);
    expect(result.stdout).toContain('\x1b[0J');
    expect(result.stdout).toMatch(/✔ Take until over limit \(loop\) \d+ ms/);
    expect(result.stdout).toMatch(/✔ workflow succeeded in \d+ ms/);
  });

  it('reads inputs from a file and writes the report', () => {
    const inputs = scratchFile('inputs.json', { name: 'File' });
    const report = join(scratch, 'report.json');
    const result = flowgram(['run', 'examples/hello.json', '--inputs-file', inputs, '--report', report, '--no-progress']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    const parsed = FlowGramAPIs[FlowGramAPIName.TaskReport].schema.output.parse(JSON.parse(readFileSync(report, 'utf8')));
    expect(parsed.outputs).toEqual({ greeting: 'Hello, File!', name: 'File' });
  });

  it('exits 1 with one readable line when the workflow fails', () => {
    const file = scratchFile('failing.json', failingWorkflow());
    const result = flowgram(['run', file]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^✖ Loop \(loop\) \d+ ms$/m);
    const errorLines = lines(result.stderr).filter((line) => line.startsWith('flowgram:'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/^flowgram: workflow failed \(node loop_0\): Loop "loopFor" must be an array/);
    // The failure is printed once, not on the node's line, the workflow's line and the last line.
    expect(result.stderr.split('must be an array').length - 1).toBe(1);
  });

  const codeLoop = (script: string): unknown => ({
    nodes: [
      { id: 'start_0', type: 'start', data: { outputs: { type: 'object', properties: { items: { type: 'array', items: { type: 'string' } } } } } },
      {
        id: 'loop_0',
        type: 'loop',
        data: { title: 'Each', loopFor: { type: 'ref', content: ['start_0', 'items'] } },
        blocks: [
          { id: 'bs', type: 'block-start', data: {} },
          {
            id: 'code_0',
            type: 'code',
            data: {
              title: 'Shout',
              inputs: { type: 'object', properties: { item: { type: 'string' } } },
              inputsValues: { item: { type: 'ref', content: ['loop_0_locals', 'item'] } },
              script: { language: 'javascript', content: script },
            },
          },
          { id: 'be', type: 'block-end', data: {} },
        ],
        edges: [{ sourceNodeID: 'bs', targetNodeID: 'code_0' }, { sourceNodeID: 'code_0', targetNodeID: 'be' }],
      },
      { id: 'end_0', type: 'end', data: {} },
    ],
    edges: [{ sourceNodeID: 'start_0', targetNodeID: 'loop_0' }, { sourceNodeID: 'loop_0', targetNodeID: 'end_0' }],
  });

  it('shows the loop iteration on lines inside a loop, and code console output under its node (--quiet hides it)', () => {
    const file = scratchFile('code-loop.json', codeLoop('function main({ params }) { console.log("saw " + params.item); return {}; }'));
    const result = flowgram(['run', file, '--inputs', '{"items":["a","b","c"]}']);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/^✔ Shout \(code\) \[1\/3\] \d+ ms\n {2}│ saw a$/m);
    expect(result.stderr).toMatch(/^✔ Shout \(code\) \[3\/3\] \d+ ms\n {2}│ saw c$/m);
    const quiet = flowgram(['run', file, '--quiet', '--inputs', '{"items":["a"]}']);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).not.toContain('saw a');
    expect(quiet.stderr).toMatch(/✔ Shout \(code\) \[1\/1\]/);
  });

  it('a script syntax error names its line and column', () => {
    const file = scratchFile('syntax.json', codeLoop('function main({ params }) {\n  const x = ;\n  return {};\n}'));
    const result = flowgram(['run', file, '--inputs', '{"items":["a"]}']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^flowgram: workflow failed \(node code_0\): SyntaxError: .*\(line 2, column \d+\)$/m);
  });

  it('warns about inputs the start node does not declare; --strict makes that an error', () => {
    const warned = flowgram(['run', 'examples/hello.json', '--no-progress', '--inputs', '{"name":"Ada","nmae":"typo"}']);
    expect(warned.status).toBe(0);
    expect(warned.stderr).toMatch(/^flowgram: warning: inputs "nmae" is not declared by the start node/m);
    const strict = flowgram(['run', 'examples/hello.json', '--strict', '--inputs', '{"name":"Ada","nmae":"typo"}']);
    expect(strict.status).toBe(2);
    expect(strict.stderr).toMatch(/"nmae" is not declared/);
  });

  it('reads the workflow from stdin with -', () => {
    const result = spawnSync(process.execPath, [bin, 'run', '-', '--no-progress', '--inputs', '{"name":"Pipe"}'], {
      cwd: root,
      encoding: 'utf8',
      input: readFileSync(join(root, 'examples/hello.json'), 'utf8'),
      timeout: 20_000,
    });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ greeting: 'Hello, Pipe!' });
  });

  it.each([
    ['a missing file', () => ['run', join(scratch, 'nope.json')], /no such file/],
    ['a file that is not JSON', () => ['run', scratchFile('bad.json', '{"nodes": [')], /not valid JSON/],
    ['a JSON file that is not an object', () => ['run', scratchFile('array.json', '[]')], /must be a JSON object/],
    ['an invalid workflow', () => ['run', scratchFile('invalid.json', { nodes: [{ id: 'a', type: 'start' }], edges: [] })], /end/i],
    ['inputs that are not JSON', () => ['run', 'examples/hello.json', '--inputs', '{name'], /--inputs: not valid JSON/],
    ['inputs of the wrong type', () => ['run', 'examples/hello.json', '--inputs', '{"name":5}'], /inputs\.name/],
    ['both --inputs and --inputs-file', () => ['run', 'examples/hello.json', '--inputs', '{}', '--inputs-file', 'x.json'], /cannot be used/],
  ])('exits 2 with one error line for %s', (_name, args, message) => {
    const result = flowgram(args());
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const errorLines = lines(result.stderr);
    expect(errorLines.length).toBeLessThanOrEqual(2);
    expect(errorLines.join('\n')).toMatch(message);
  });
});

describe('flowgram validate', () => {
  it('exits 0 for a valid workflow', () => {
    const result = flowgram(['validate', 'examples/loop-break.json']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('is valid');
  });

  it('prints every problem with its path and exits 1', () => {
    const file = scratchFile('problems.json', {
      nodes: [
        { id: 'start_0', type: 'start', data: {} },
        { id: 'start_0', type: 'teleport', data: {} },
      ],
      edges: [{ sourceNodeID: 'start_0', targetNodeID: 'ghost' }],
    });
    const result = flowgram(['validate', file]);
    expect(result.status).toBe(1);
    const problems = lines(result.stdout).filter((line) => line.startsWith('✖ '));
    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(problems.some((line) => /nodes\[1\]/.test(line))).toBe(true);
    expect(problems.some((line) => /edges\[0\]/.test(line))).toBe(true);
  });

  it('prints warnings, and a workflow with only warnings is valid', () => {
    const workflow = JSON.parse(readFileSync(join(root, 'examples/hello.json'), 'utf8')) as { nodes: Array<{ type: string; data: { inputsValues?: Record<string, unknown> } }> };
    const end = workflow.nodes.find((node) => node.type === 'end');
    if (!end?.data.inputsValues) throw new Error('examples/hello.json has no end inputs');
    const [key] = Object.keys(end.data.inputsValues);
    end.data.inputsValues[key] = { type: 'ref', content: ['start_0', 'undeclared'] };
    const result = flowgram(['validate', scratchFile('warned.json', workflow)]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^⚠ nodes\[\d\]\.data\.inputsValues\.\w+: ref "start_0\.undeclared"/m);
    expect(result.stdout).toMatch(/is valid \(1 warning\)/);
  });

  it('checks inputs too', () => {
    const result = flowgram(['validate', 'examples/hello.json', '--inputs', '{"name":1}']);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/✖ inputs\.name/);
  });
});

/** Every line `serve` wrote, parsed: each must be a pino JSON line (no plain text mixed in). */
function logLines(output: string): Array<{ level: number; msg: string } & Record<string, unknown>> {
  return lines(output).map((line) => JSON.parse(line) as { level: number; msg: string });
}

/** `flowgram serve` as a child process; resolves with its URL once it listens, and what it printed so far. */
async function startServe(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--log-level', 'warn', ...args], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', ...env },
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+?) /.exec(stderr);
      if (match && (args.includes('--no-console') || stderr.includes('console (run history'))) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  // The warning, if any, is written right after the start-up lines.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { child, url, stderr: () => stderr };
}

async function stopServe(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

describe('flowgram serve', () => {
  const db = join(scratch, 'serve.db');
  let persistedTaskID = '';

  it('serves the API on the given port and shuts down gracefully on SIGTERM', async () => {
    const { child, url } = await startServe(['--db', db]);
    try {
      const info = await fetch(`${url}/api/info`).then((response) => response.json());
      expect(FlowGramAPIs[FlowGramAPIName.ServerInfo].schema.output.parse(info)).toMatchObject({ runtime: 'Node.js' });
      const hello = readFileSync(join(root, 'examples/hello.json'), 'utf8');
      const run = await fetch(`${url}/api/task/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema: hello, inputs: { name: 'served' } }),
      }).then((response) => response.json() as Promise<{ taskID: string }>);
      const outputs = await fetch(`${url}/api/task/result?taskID=${run.taskID}&wait=5000`).then((response) => response.json());
      expect(outputs).toEqual({ greeting: 'Hello, served!', name: 'served' });
      persistedTaskID = run.taskID;
      expect(await stopServe(child)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('serves the web console at / unless --no-console', async () => {
    const withConsole = await startServe(['--db', ':memory:']);
    try {
      const page = await fetch(`${withConsole.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/console/main.js');
    } finally {
      await stopServe(withConsole.child);
    }
    const without = await startServe(['--db', ':memory:', '--no-console']);
    try {
      expect((await fetch(`${without.url}/`)).status).toBe(404);
      expect((await fetch(`${without.url}/console/main.js`)).status).toBe(404);
      expect((await fetch(`${without.url}/api/info`)).status).toBe(200);
      expect(without.stderr()).not.toContain('console (run history');
    } finally {
      await stopServe(without.child);
    }
  });

  it('keeps tasks in the --db file across restarts', async () => {
    expect(persistedTaskID).not.toBe('');
    const { child, url } = await startServe(['--db', db]);
    try {
      const report = await fetch(`${url}/api/task/report?taskID=${persistedTaskID}`);
      expect(report.status).toBe(200);
      const parsed = FlowGramAPIs[FlowGramAPIName.TaskReport].schema.output.parse(await report.json());
      expect(parsed.workflowStatus.status).toBe('succeeded');
      expect(parsed.outputs).toEqual({ greeting: 'Hello, served!', name: 'served' });
    } finally {
      await stopServe(child);
    }
  });

  it('every line it writes, on stdout and stderr, is a pino JSON line (start-up, requests, shutdown)', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--db', ':memory:', '--log-level', 'info'], { cwd: root, env: { ...process.env, HOST: '127.0.0.1' } });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          const match = /listening on (http:\/\/\S+?) /.exec(stderr);
          if (match) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      expect((await fetch(`${url}/api/nope`)).status).toBe(404);
      expect((await fetch(`${url}/api/info`)).status).toBe(200);
      expect(await stopServe(child)).toBe(0);
      const all = [...logLines(stdout), ...logLines(stderr)];
      expect(all.some((line) => line.msg.startsWith('flowgram server listening on'))).toBe(true);
      expect(all.some((line) => line.msg === 'request' && line.statusCode === 404)).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('exits 2 on a bad port', () => {
    const result = flowgram(['serve', '--port', 'abc']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--port/);
  });

  it('exits 2 on a bad --lease-ms, with one line naming it', () => {
    const result = flowgram(['serve', '--lease-ms', '0']);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe('flowgram: --lease-ms: must be a whole number between 100 and 9007199254740991, got "0"');
  });

  it('warns when listening beyond loopback without FLOWGRAM_API_TOKEN', async () => {
    const open = await startServe(['--db', ':memory:', '--host', '0.0.0.0'], { FLOWGRAM_API_TOKEN: '' });
    await stopServe(open.child);
    const warning = logLines(open.stderr()).find((line) => line.level === 40);
    expect(warning?.msg).toMatch(/^listening on 0\.0\.0\.0, beyond loopback, without FLOWGRAM_API_TOKEN/);
    const guarded = await startServe(['--db', ':memory:', '--host', '0.0.0.0'], { FLOWGRAM_API_TOKEN: 'tok' });
    await stopServe(guarded.child);
    const local = await startServe(['--db', ':memory:'], { FLOWGRAM_API_TOKEN: '' });
    await stopServe(local.child);
    expect(logLines(guarded.stderr()).filter((line) => line.level >= 40)).toEqual([]);
    expect(logLines(local.stderr()).filter((line) => line.level >= 40)).toEqual([]);
  });

  it('--limit name=value (and FLOWGRAM_LIMITS) sets task limits; a bad one exits 2 naming it', async () => {
    const deep = JSON.stringify({ schema: readFileSync(join(root, 'examples/hello.json'), 'utf8'), inputs: { name: 'Ada', extra: [[[[[[1]]]]]] } });
    for (const [args, env] of [[['--limit', 'maxJsonDepth=4'], {}], [[], { FLOWGRAM_LIMITS: 'maxJsonDepth=4,taskTimeoutMs=60000' }]] as const) {
      const { child, url } = await startServe(['--db', ':memory:', ...args], env);
      try {
        const response = await fetch(`${url}/api/task/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep });
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ code: 'FLOWGRAM_ERR_LIMIT_EXCEEDED', message: expect.stringMatching(/maxJsonDepth/) });
      } finally {
        await stopServe(child);
      }
    }
    const bad = flowgram(['serve', '--db', ':memory:', '--limit', 'maxBananas=3']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown limit "maxBananas"/);
  });

  it('--deny-private-networks (or FLOWGRAM_DENY_PRIVATE_NETWORKS=1) keeps HTTP nodes off private addresses, every IPv6 spelling included', async () => {
    const echo = await startEchoServer();
    const port = new URL(echo.origin).port;
    const schema = readFileSync(join(root, 'examples/http.json'), 'utf8');
    const outcome = async (url: string, target: string): Promise<{ status: string; error?: string }> => {
      const run = await fetch(`${url}/api/task/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema, inputs: { url: target, name: 'Ada' } }),
      }).then((response) => response.json() as Promise<{ taskID: string }>);
      await fetch(`${url}/api/task/result?taskID=${run.taskID}&wait=10000`);
      const report = (await fetch(`${url}/api/task/report?taskID=${run.taskID}`).then((response) => response.json())) as {
        workflowStatus: { status: string };
        messages: { error: Array<{ message: string }> };
      };
      return { status: report.workflowStatus.status, error: report.messages.error.map((entry) => entry.message).join('; ') };
    };
    const targets = [`${echo.origin}/echo`, `http://[::ffff:0:127.0.0.1]:${port}/echo`, `http://[::127.0.0.1]:${port}/echo`, `http://[::ffff:127.0.0.1]:${port}/echo`];
    try {
      for (const [args, env] of [[['--deny-private-networks'], {}], [[], { FLOWGRAM_DENY_PRIVATE_NETWORKS: '1' }]] as const) {
        const { child, url } = await startServe(['--db', ':memory:', ...args], env);
        try {
          for (const target of targets) {
            const result = await outcome(url, target);
            expect(result.status, target).toBe('failed');
            expect(result.error, target).toMatch(/network policy refused/);
          }
        } finally {
          await stopServe(child);
        }
      }
      expect(echo.requestsTo('/echo')).toHaveLength(0);
      const open = await startServe(['--db', ':memory:']);
      try {
        expect((await outcome(open.url, targets[0])).status).toBe('succeeded');
      } finally {
        await stopServe(open.child);
      }
    } finally {
      await echo.close();
    }
  });
});
