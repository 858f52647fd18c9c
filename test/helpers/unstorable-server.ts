/**
 * `createServer` with graceful shutdown on SIGTERM (as `flowgram serve` runs it) over a SQLite store,
 * with the test node types and `unserializable` (a node whose output JSON cannot be written), for the
 * shutdown test of the store failure tests. Run: node --import tsx test/helpers/unstorable-server.ts <db>
 * Prints `listening <url>`; exits by itself once closed.
 */
import { createServer, createSqliteStore, type NodeExecutor } from '../../src/index.js';
import { testExecutors } from '../fixtures/test-nodes.js';

const path = process.argv[2];
if (!path) throw new Error('usage: unstorable-server.ts <db path>');
const unserializable: NodeExecutor = { type: 'unserializable', execute: () => ({ outputs: { value: 10n } }) };
const server = await createServer({
  apiToken: null,
  handleSignals: true,
  runtimeOptions: { executors: [...testExecutors(), unserializable], store: createSqliteStore({ path }) },
});
process.stdout.write(`listening ${await server.listen({ host: '127.0.0.1', port: 0 })}\n`);
