/**
 * The SQLite store's writer thread: it owns the write connection and applies requests one at a
 * time, in the order they were posted. After each one it records the request as completed in the
 * shared state (the main thread reads it to bound the requests in flight), then answers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { openDatabase } from './sqlite-open.js';
import { COMPLETED, GONE, type WriterReply, type WriterRequest, type WriterResult, type WriterThreadData } from './sqlite-writer-protocol.js';
import { sqliteSecretWrites } from './sqlite-secrets.js';
import { createSqliteWriter } from './sqlite-writer.js';

const port = parentPort;
if (!port) throw new Error('sqlite-writer-worker must run in a worker thread');
const { path, busyTimeoutMs, shared } = workerData as WriterThreadData;
const state = new Int32Array(shared);
// However the thread ends (closed, or unable to open the database), a main thread waiting for room must stop waiting.
process.on('exit', () => {
  Atomics.store(state, GONE, 1);
  Atomics.notify(state, COMPLETED);
});
const db = openDatabase(path, { migrate: false, busyTimeoutMs });
// Writes append to the end of the tables and reads go through the main thread's connection: a small cache does.
db.pragma('cache_size = -4000');
const writer = createSqliteWriter(db);
const secrets = sqliteSecretWrites(db);

function apply(request: WriterRequest): WriterResult | undefined {
  switch (request.kind) {
    case 'write':
      writer.write(request.rows);
      return undefined;
    case 'delete':
      return writer.deleteTask(request.taskID);
    case 'prune':
      return writer.prune(request.now, request.maxAgeMs, request.maxTasks);
    case 'heartbeat':
      writer.heartbeat(request.owner, request.alive, Date.now());
      return undefined;
    case 'claim':
      return writer.claimAbandoned(request.owner, request.leaseMs, Date.now());
    case 'claim-waiting':
      return writer.claimWaiting(request.taskID, request.owner);
    case 'secret-put':
      secrets.put(request.name, request.sealed, request.now);
      return undefined;
    case 'secret-delete':
      return secrets.delete(request.name);
    case 'close':
      db.close();
      return undefined;
  }
}

port.on('message', (request: WriterRequest) => {
  const reply: WriterReply = { id: request.id };
  try {
    const result = apply(request);
    if (result !== undefined) reply.result = result;
  } catch (error) {
    reply.error = errorMessage(error);
  }
  Atomics.store(state, COMPLETED, request.id);
  Atomics.notify(state, COMPLETED);
  port.postMessage(reply);
  if (request.kind === 'close') port.close(); // nothing else keeps the thread alive: it exits
});
