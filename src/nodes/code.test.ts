import { describe, expect, it } from 'vitest';
import type { ExecutionContext, MessageLevel } from '../engine/types.js';
import { ErrorCodes, FlowgramError } from '../errors.js';
import type { ScriptRequest, ScriptResult, ScriptRunner } from '../sandbox/types.js';
import { createCodeExecutor } from './code.js';

/** A runner that records requests and answers with a fixed result. */
function fakeRunner(languages: string[], result: ScriptResult): ScriptRunner & { requests: ScriptRequest[]; closed: boolean } {
  return {
    languages,
    requests: [],
    closed: false,
    async run(request) {
      this.requests.push(request);
      return result;
    },
    async close() {
      this.closed = true;
    },
  };
}

function context(data: Record<string, unknown>, options: { limits?: ExecutionContext['limits']; signal?: AbortSignal } = {}) {
  const messages: Array<{ level: string; message: string }> = [];
  const log = (level: MessageLevel) => (message: string) => messages.push({ level, message });
  const ctx = {
    node: { id: 'code_0', type: 'code', data },
    inputs: { x: 1 },
    signal: options.signal ?? new AbortController().signal,
    limits: options.limits ?? {},
    log: { log: log('log'), info: log('info'), debug: log('debug'), warn: log('warning'), error: log('error') },
  } as unknown as ExecutionContext;
  return { ctx, messages };
}

const ok = (value: unknown, logs: ScriptResult['logs'] = []): ScriptResult => ({ ok: true, value, logs });

describe('createCodeExecutor', () => {
  it('hands the script, params and resolved limits to the runner of its language', async () => {
    const runner = fakeRunner(['javascript'], ok({ a: 1 }));
    const executor = createCodeExecutor({ runners: [runner] });
    const { ctx } = context({ script: { language: 'javascript', content: 'x' }, limits: { timeoutMs: 10 } }, { limits: { code: { timeoutMs: 500 } } });
    expect(await executor.execute(ctx)).toEqual({ outputs: { a: 1 } });
    expect(runner.requests).toEqual([
      { language: 'javascript', source: 'x', params: { x: 1 }, limits: { timeoutMs: 10, memoryBytes: 33_554_432, stackBytes: 1_048_576, outputBytes: 1_048_576, consoleBytes: 65_536 } },
    ]);
  });

  it('wraps values that are not plain objects in { result }', async () => {
    for (const value of [3, 'text', [1], null]) {
      const executor = createCodeExecutor({ runners: [fakeRunner(['javascript'], ok(value))] });
      expect(await executor.execute(context({ script: { language: 'javascript', content: 'x' } }).ctx)).toEqual({ outputs: { result: value } });
    }
  });

  it('defaults to javascript and picks runners by language', async () => {
    const js = fakeRunner(['javascript'], ok({ from: 'js' }));
    const py = fakeRunner(['python'], ok({ from: 'py' }));
    const executor = createCodeExecutor({ runners: [js, py] });
    expect(await executor.execute(context({ script: { content: 'x' } }).ctx)).toEqual({ outputs: { from: 'js' } });
    expect(await executor.execute(context({ script: { language: 'python', content: 'x' } }).ctx)).toEqual({ outputs: { from: 'py' } });
  });

  it('builds runners from factories on first use with the runtime code limits', async () => {
    const seen: unknown[] = [];
    const executor = createCodeExecutor({
      runners: [
        (limits) => {
          seen.push(limits);
          return fakeRunner(['javascript'], ok({}));
        },
      ],
    });
    expect(seen).toEqual([]);
    await executor.execute(context({ script: { content: 'x' } }, { limits: { code: { workers: 3 } } }).ctx);
    await executor.execute(context({ script: { content: 'x' } }).ctx);
    expect(seen).toEqual([{ workers: 3 }]);
  });

  it('fails clearly for an unsupported language such as python without its runner', async () => {
    const executor = createCodeExecutor({ runners: [fakeRunner(['javascript', 'typescript'], ok({}))] });
    const run = executor.execute(context({ script: { language: 'python', content: 'def main(): pass' } }).ctx);
    await expect(run).rejects.toThrow('code: unsupported language "python" (supported: javascript, typescript)');
  });

  it('requires script content', async () => {
    const executor = createCodeExecutor({ runners: [fakeRunner(['javascript'], ok({}))] });
    await expect(executor.execute(context({}).ctx)).rejects.toThrow('code: data.script.content is required');
    await expect(executor.execute(context({ script: { content: '  ' } }).ctx)).rejects.toThrow('code: data.script.content is required');
  });

  it('forwards console output to the node log at its level', async () => {
    const logs: ScriptResult['logs'] = [
      { level: 'log', message: 'a' },
      { level: 'warning', message: 'b' },
      { level: 'error', message: 'c' },
    ];
    const executor = createCodeExecutor({ runners: [fakeRunner(['javascript'], ok({}, logs))] });
    const { ctx, messages } = context({ script: { content: 'x' } });
    await executor.execute(ctx);
    expect(messages).toEqual([
      { level: 'log', message: 'a' },
      { level: 'warning', message: 'b' },
      { level: 'error', message: 'c' },
    ]);
  });

  it('fails with the script message, and with LIMIT_EXCEEDED when a limit was hit', async () => {
    const failing = createCodeExecutor({ runners: [fakeRunner(['javascript'], { ok: false, error: 'boom', logs: [] })] });
    const error = await Promise.resolve(failing.execute(context({ script: { content: 'x' } }).ctx)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowgramError);
    expect(error).toMatchObject({ code: ErrorCodes.NODE_FAILED, message: 'boom' });
    const limited = createCodeExecutor({ runners: [fakeRunner(['javascript'], { ok: false, error: 'code: timeoutMs exceeded (5 ms)', limit: 'timeoutMs', logs: [] })] });
    await expect(limited.execute(context({ script: { content: 'x' } }).ctx)).rejects.toMatchObject({ code: ErrorCodes.LIMIT_EXCEEDED, message: 'code: timeoutMs exceeded (5 ms)' });
  });

  it('does not start a script for an already cancelled task', async () => {
    const runner = fakeRunner(['javascript'], ok({}));
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(createCodeExecutor({ runners: [runner] }).execute(context({ script: { content: 'x' } }, { signal: controller.signal }).ctx)).rejects.toThrow('cancelled');
    expect(runner.requests).toEqual([]);
  });

  it('warms only the runners of the languages asked for', async () => {
    const warmed: string[] = [];
    const withWarm = (language: string): ScriptRunner => ({ ...fakeRunner([language], ok({})), warm: async () => void warmed.push(language) });
    const executor = createCodeExecutor({ runners: [withWarm('javascript'), withWarm('python')] });
    await executor.warm(undefined, ['javascript']);
    expect(warmed).toEqual(['javascript']);
    await executor.warm();
    expect(warmed).toEqual(['javascript', 'javascript', 'python']);
  });

  it('closes the runners it started', async () => {
    const runner = fakeRunner(['javascript'], ok({}));
    const executor = createCodeExecutor({ runners: [runner] });
    await executor.execute(context({ script: { content: 'x' } }).ctx);
    await executor.close();
    expect(runner.closed).toBe(true);
  });
});
