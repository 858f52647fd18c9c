import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, createSqliteStore, ErrorCodes, openSecretStore } from '../src/index.js';

import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { startOpenAIServer, type OpenAIServer } from './helpers/openai-server.js';
import { constant, ref, secretFlow, template } from './helpers/secret-flows.js';
import { exerciseTask, filesContaining, serve } from './helpers/secret-serve.js';

const BIN = fileURLToPath(new URL('../bin/flowgram.js', import.meta.url));
let llm: OpenAIServer;
let echo: EchoServer;
const dir = mkdtempSync(join(tmpdir(), 'flowgram-secrets-manage-'));

beforeAll(async () => {
  llm = await startOpenAIServer();
  echo = await startEchoServer();
});
afterAll(async () => {
  await llm.close();
  await echo.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, FLOWGRAM_SECRET_KEY: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('/api/secrets', () => {
  it('stores, lists, shows and removes secrets behind the API token, never answering a value', async () => {
    const value = `sk-${randomBytes(16).toString('hex')}`;
    const path = join(dir, 'api.db');
    const store = createSqliteStore({ path });
    const secrets = await openSecretStore({ table: store.secrets, keyFile: `${path}.key`, env: false });
    const server = await createServer({ apiToken: 'test-token', runtimeOptions: { store, secrets } });
    const base = await server.listen({ port: 0 });
    const auth = { authorization: 'Bearer test-token' };
    const texts: string[] = [];
    const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = auth): Promise<{ status: number; body: Record<string, unknown> }> => {
      const response = await fetch(`${base}${url}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      texts.push(text);
      return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
    };
    try {
      expect((await call('PUT', '/api/secrets/OPENAI', { value }, {})).status).toBe(401);
      expect((await call('GET', '/api/secrets', undefined, {})).status).toBe(401);
      const put = await call('PUT', '/api/secrets/OPENAI', { value });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ name: 'OPENAI', source: 'store', createdAt: expect.any(Number), updatedAt: expect.any(Number) });
      expect((await call('PUT', '/api/secrets/bad-name', { value })).body.code).toBe(ErrorCodes.BAD_REQUEST);
      expect((await call('PUT', '/api/secrets/EMPTY', { value: '' })).body.code).toBe(ErrorCodes.BAD_REQUEST);
      expect((await call('GET', '/api/secrets')).body).toEqual({ secrets: [put.body] });
      expect((await call('GET', '/api/secrets/OPENAI')).body).toEqual(put.body);

      const flow = secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('secrets', 'OPENAI'), authorization: ref('secrets', 'OPENAI'), param: constant('plain') });
      const run = await exerciseTask(base, flow, auth);
      expect(run.status).toBe('succeeded');
      expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${value}`);
      texts.push(...run.texts);

      const openapi = (await call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
      expect(Object.keys(openapi.paths['/api/secrets/{name}']).sort()).toEqual(['delete', 'get', 'put']);
      expect(Object.keys(openapi.paths['/api/secrets'])).toEqual(['get']);

      expect((await call('DELETE', '/api/secrets/OPENAI')).body).toEqual({ success: true });
      const gone = await call('GET', '/api/secrets/OPENAI');
      expect([gone.status, gone.body.code]).toEqual([404, ErrorCodes.SECRET_UNKNOWN]);
      expect((await call('DELETE', '/api/secrets/OPENAI')).status).toBe(404);
      const failed = await exerciseTask(base, flow, auth);
      expect(failed.status).toBe('failed');
      for (const text of texts) expect(text).not.toContain(value);
    } finally {
      await server.close();
      await store.close();
    }
    expect(filesContaining(dir, value)).toEqual([]);
  });
});

describe('POST /api/task/validate', () => {
  it('knows the names another process sharing the database set or removed since, and takes literal keys as they will be stored', async () => {
    const path = join(dir, 'validate.db');
    const store = createSqliteStore({ path });
    const secrets = await openSecretStore({ table: store.secrets, keyFile: `${path}.key`, env: false });
    const server = await createServer({ apiToken: null, runtimeOptions: { store, secrets } });
    const base = await server.listen({ port: 0 });
    // What `flowgram secrets set` does while the server runs: its own store on the same file.
    const other = createSqliteStore({ path });
    const otherSecrets = await openSecretStore({ table: other.secrets, keyFile: `${path}.key`, env: false });
    const validate = async (schema: object): Promise<unknown> =>
      (await fetch(`${base}/api/task/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema, inputs: {} }) })).json();
    try {
      const byReference = secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('secrets', 'LATER'), authorization: constant('Bearer typed-into-the-form'), param: constant('plain') });
      expect(await validate(byReference)).toEqual({ valid: false, errors: ['nodes[1].data.inputsValues.apiKey: unknown secret "LATER"'] });
      await otherSecrets.set('LATER', `sk-${randomBytes(8).toString('hex')}`);
      expect(await validate(byReference)).toEqual({ valid: true });
      await otherSecrets.delete('LATER');
      expect(await validate(byReference)).toMatchObject({ valid: false });
    } finally {
      await server.close();
      await store.close();
      await other.close();
    }
  });
});

describe('flowgram secrets', () => {
  it('set reads the value from stdin, list shows names and dates only, a server on the same --db resolves it, rm removes it', async () => {
    const value = `sk-${randomBytes(16).toString('hex')}`;
    const db = join(dir, 'cli.db');
    const set = await cli(['secrets', 'set', 'OPENAI', '--db', db], `${value}\n`);
    expect([set.code, set.stderr]).toEqual([0, 'secret OPENAI stored\n']);
    const listed = await cli(['secrets', 'list', '--db', db]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^OPENAI\tstore\tchanged \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    expect((await cli(['secrets', 'set', 'EMPTY', '--db', db], '')).code).toBe(2);
    expect((await cli(['secrets', 'set', '1bad', '--db', db], 'x')).code).toBe(2);
    // A value on the command line (it would show in `ps` and shell history) is refused, and neither echoed nor stored.
    const inArgv = `sk-${randomBytes(16).toString('hex')}`;
    const refused = await cli(['secrets', 'set', 'ARGV', inArgv, '--db', db], '');
    expect(refused.code).toBe(2);
    expect(refused.stdout + refused.stderr).not.toContain(inArgv);
    expect((await cli(['secrets', 'list', '--db', db])).stdout).not.toContain('ARGV');

    const server = await serve(['--db', db], {});
    try {
      const flow = secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('secrets', 'OPENAI'), authorization: ref('secrets', 'OPENAI'), param: ref('secrets', 'OPENAI') });
      const run = await exerciseTask(server.base, flow);
      expect(run.status).toBe('succeeded');
      expect(echo.requests.at(-1)?.headers.authorization).toBe(value);
      for (const text of run.texts) expect(text).not.toContain(value);
    } finally {
      await server.stop();
    }
    expect(server.output()).not.toContain(value);

    const removed = await cli(['secrets', 'rm', 'OPENAI', '--db', db]);
    expect([removed.code, removed.stderr]).toEqual([0, 'secret OPENAI removed\n']);
    expect((await cli(['secrets', 'list', '--db', db])).stdout).toBe('');
    const again = await cli(['secrets', 'rm', 'OPENAI', '--db', db]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(filesContaining(dir, value)).toEqual([]);
  });
});

describe('flowgram run and validate', () => {
  it('resolve --secrets-file and FLOWGRAM_SECRET_<NAME>, print outputs and progress masked, and name an unknown secret with its path', async () => {
    const value = `sk-${randomBytes(16).toString('hex')}`;
    const secretsFile = join(dir, 'run-secrets.json');
    writeFileSync(secretsFile, JSON.stringify({ FROM_FILE: value }));
    const flow = join(dir, 'flow.json');
    writeFileSync(
      flow,
      JSON.stringify(secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('secrets', 'FROM_FILE'), authorization: template('Bearer {{secrets.FROM_ENV}}'), param: ref('secrets', 'FROM_FILE') })),
    );
    const child = spawn(process.execPath, [BIN, 'run', flow, '--secrets-file', secretsFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLOWGRAM_SECRET_FROM_ENV: value } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
    expect(output).toContain('"code": "[redacted]"');
    expect(output).not.toContain(value);
    expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${value}`);
    expect(echo.requests.at(-1)?.headers.authorization).toBe(`Bearer ${value}`);

    const invalid = await cli(['validate', flow, '--secrets-file', secretsFile]);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toContain('✖ nodes[2].data.headersValues.Authorization: unknown secret "FROM_ENV"');
  });
});
