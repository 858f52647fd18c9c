/**
 * Secrets on a fleet: API server and worker processes sharing PostgreSQL (and Redis for the queue),
 * one FLOWGRAM_SECRET_KEY. Literal keys are moved into the shared store by the API server, secrets set
 * through its API are resolved by the worker, and neither the database files, the WAL, any answer nor
 * any log line holds a value.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { startOpenAIServer, type OpenAIServer } from './helpers/openai-server.js';
import { postgresBinDir, startPostgres, type PostgresInstance } from './helpers/postgres.js';
import { redisBinary, startRedis, type RedisInstance } from './helpers/redis.js';
import { constant, ref, secretFlow, template } from './helpers/secret-flows.js';
import { exerciseTask, filesContaining, refusedToStart, serve, worker, type ServeProcess } from './helpers/secret-serve.js';

const available = redisBinary() !== undefined && postgresBinDir() !== undefined;
if (!available) console.warn('secrets-postgres.test: skipped, redis-server and PostgreSQL (initdb, pg_ctl) must be installed (see .ci/run)');

describe.skipIf(!available)('secrets with a PostgreSQL fleet in queue mode', () => {
  let redis: RedisInstance;
  let postgres: PostgresInstance;
  let llm: OpenAIServer;
  let echo: EchoServer;
  const secret = `sk-${randomBytes(16).toString('hex')}`;
  const marker = `marker-${randomBytes(8).toString('hex')}`;
  const key = randomBytes(32).toString('base64');
  const processes: ServeProcess[] = [];

  beforeAll(async () => {
    [redis, postgres, llm, echo] = await Promise.all([startRedis(), startPostgres(), startOpenAIServer(), startEchoServer()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(processes.map((member) => member.stop()));
    await Promise.all([redis?.stop(), postgres?.stop(), llm?.close(), echo?.close()]);
  });

  const fleetArgs = (): string[] => ['--db', postgres.url, '--queue', redis.url];

  it('workers resolve secrets from the shared store; no value in any answer, log line, table file or WAL', async () => {
    const env = { FLOWGRAM_SECRET_KEY: key, FLOWGRAM_API_TOKEN: '' };
    const api = await serve(fleetArgs(), env);
    const work = await worker(fleetArgs(), env);
    processes.push(api, work);
    const put = await fetch(`${api.base}/api/secrets/OPENAI`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: secret }) });
    expect(put.status).toBe(200);
    expect(await put.text()).not.toContain(secret);

    const flows = {
      // The marker is stored in plain text: it shows that the file search below would find the secret if it were.
      constant: secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: constant(secret), authorization: constant(`Bearer ${secret}`), param: constant(marker) }),
      reference: secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('secrets', 'OPENAI'), authorization: ref('secrets', 'OPENAI'), param: ref('secrets', 'OPENAI') }),
      template: secretFlow(llm.baseURL, `${echo.origin}/echo`, {
        apiKey: template('{{secrets.OPENAI}}'),
        authorization: template('Bearer {{secrets.OPENAI}}'),
        param: template('{{secrets.OPENAI}}'),
        prompt: template('say {{secrets.OPENAI}}'),
      }),
    };
    for (const [how, flow] of Object.entries(flows)) {
      const { texts, status } = await exerciseTask(api.base, flow);
      expect(status, how).toBe('succeeded');
      expect(llm.requests.at(-1)?.headers.authorization, how).toBe(`Bearer ${secret}`);
      expect(String(echo.requests.at(-1)?.headers.authorization), how).toContain(secret);
      for (const text of texts) expect(text, how).not.toContain(secret);
    }
    const listed = await (await fetch(`${api.base}/api/secrets`)).json() as { secrets: Array<{ name: string }> };
    expect(listed.secrets.map((entry) => entry.name).sort()).toEqual(['OPENAI', expect.stringMatching(/^literal_/), expect.stringMatching(/^literal_/)].sort());
    expect(filesContaining(postgres.dataDir, marker).length).toBeGreaterThan(0);
    expect(filesContaining(postgres.dataDir, secret)).toEqual([]);
    await Promise.all([api.stop(), work.stop()]);
    expect(filesContaining(postgres.dataDir, secret)).toEqual([]);
    for (const member of [api, work]) expect(member.output()).not.toContain(secret);
  });

  it('a server or worker with a key that cannot decrypt the stored secrets refuses to start with one line; with the right key nothing is lost', async () => {
    for (const start of [
      () => serve(fleetArgs(), { FLOWGRAM_SECRET_KEY: randomBytes(32).toString('hex') }),
      () => worker(fleetArgs(), { FLOWGRAM_SECRET_KEY: randomBytes(32).toString('hex') }),
      () => serve(fleetArgs(), { FLOWGRAM_SECRET_KEY: '' }),
    ]) {
      const refused = await refusedToStart(start());
      expect(refused.code).toBe(2);
      expect(refused.output.trim().split('\n')).toHaveLength(1);
      expect(refused.output).toMatch(/^flowgram: .*secret/);
    }
    const env = { FLOWGRAM_SECRET_KEY: key, FLOWGRAM_API_TOKEN: '' };
    const api = await serve(fleetArgs(), env);
    const work = await worker(fleetArgs(), env);
    processes.push(api, work);
    const { tasks } = (await (await fetch(`${api.base}/api/tasks`)).json()) as { tasks: Array<{ status: string }> };
    expect(tasks.map((task) => task.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const { status } = await exerciseTask(api.base, secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: constant(secret), authorization: ref('secrets', 'OPENAI'), param: constant('plain') }));
    expect(status).toBe('succeeded');
    expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
  });
});
