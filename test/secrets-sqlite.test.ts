import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { startOpenAIServer, type OpenAIServer } from './helpers/openai-server.js';
import { constant, ref, secretFlow, template } from './helpers/secret-flows.js';
import { exerciseTask, filesContaining, refusedToStart, serve } from './helpers/secret-serve.js';

let llm: OpenAIServer;
let echo: EchoServer;
const dir = mkdtempSync(join(tmpdir(), 'flowgram-secrets-'));
const db = join(dir, 'flowgram.db');
const secret = `sk-${randomBytes(16).toString('hex')}`;
const marker = `marker-${randomBytes(8).toString('hex')}`;
const fileSecret = `fs-${randomBytes(16).toString('hex')}`;

beforeAll(async () => {
  llm = await startOpenAIServer();
  echo = await startEchoServer();
  writeFileSync(join(dir, 'secrets.env'), `# test secrets\nFILE_KEY="${fileSecret}"\n`);
});
afterAll(async () => {
  await llm.close();
  await echo.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('secrets with `flowgram serve` on SQLite', () => {
  it('are used by the LLM and HTTP nodes, never shown by any answer, stream, page or log line, and never stored in plain text', async () => {
    const server = await serve(['--db', db, '--secrets-file', join(dir, 'secrets.env')], { FLOWGRAM_SECRET_OPENAI: secret, FLOWGRAM_API_TOKEN: '' });
    try {
      const flows = {
      // The marker is stored in plain text: it shows that the file search below would find the secret if it were.
      constant: secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: constant(secret), authorization: constant(`Bearer ${secret}`), param: constant(marker) }),
        reference: secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('secrets', 'OPENAI'), authorization: ref('secrets', 'OPENAI'), param: ref('secrets', 'OPENAI') }),
        template: secretFlow(llm.baseURL, `${echo.origin}/echo`, {
          apiKey: template('{{secrets.OPENAI}}'),
          authorization: template('Bearer {{secrets.OPENAI}}'),
          param: template('{{secrets.OPENAI}}'),
          prompt: template('say {{secrets.OPENAI}} and {{secrets.FILE_KEY}}'),
        }),
      };
      for (const [how, flow] of Object.entries(flows)) {
        const { texts, status } = await exerciseTask(server.base, flow);
        expect(status, how).toBe('succeeded');
        expect(llm.requests.at(-1)?.headers.authorization, how).toBe(`Bearer ${secret}`);
        expect(String(echo.requests.at(-1)?.headers.authorization), how).toContain(secret);
        for (const text of texts) {
          expect(text, how).not.toContain(secret);
          expect(text, how).not.toContain(fileSecret);
        }
        expect(texts.join('\n'), how).toContain('[redacted]');
        // The database and its WAL while the server runs.
        expect(filesContaining(dir, secret).filter((path) => path.startsWith(db)), how).toEqual([]);
      }
      expect(llm.requests.at(-1)?.body.messages?.at(-1)?.content).toBe(`say ${secret} and ${fileSecret}`);
      expect(filesContaining(dir, marker).some((path) => path.startsWith(db))).toBe(true);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).toContain('listening');
    expect(server.output()).not.toContain(secret);
    expect(server.output()).not.toContain(fileSecret);
    expect(filesContaining(dir, secret).filter((path) => path.startsWith(db))).toEqual([]);
    expect(statSync(`${db}.key`).mode & 0o777).toBe(0o600);
  });

  it('a server started with a FLOWGRAM_SECRET_KEY that cannot decrypt the stored secrets refuses to start with one line; with the right key nothing is lost', async () => {
    const refused = await refusedToStart(serve(['--db', db], { FLOWGRAM_SECRET_KEY: randomBytes(32).toString('hex') }));
    expect(refused.code).toBe(2);
    const lines = refused.output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^flowgram: the secret key cannot decrypt 2 of the 2 secret\(s\) stored in /);

    const malformed = await refusedToStart(serve(['--db', db], { FLOWGRAM_SECRET_KEY: 'not-a-key' }));
    expect(malformed.code).toBe(2);
    expect(malformed.output.trim().split('\n')).toHaveLength(1);

    const server = await serve(['--db', db], { FLOWGRAM_SECRET_OPENAI: '' });
    try {
      const { tasks } = (await (await fetch(`${server.base}/api/tasks`)).json()) as { tasks: Array<{ id: string; status: string }> };
      expect(tasks.map((task) => task.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      // The literal keys moved into the store still work for a re-run.
      const { status } = await exerciseTask(server.base, secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: constant(secret), authorization: constant(`Bearer ${secret}`), param: constant('plain') }));
      expect(status).toBe('succeeded');
      expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
    } finally {
      await server.stop();
    }
  });
});
