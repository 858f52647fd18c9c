/**
 * A queue worker that dies before its first write to the store: it SIGKILLs itself when the journal
 * hands the store its first batch (what a continued run writes first: its row and whole journal), so
 * the job it took stays claimed with nothing of its run written. A separate process, so that the crash
 * is a real SIGKILL. Prints `ready` once it takes jobs.
 * Run: node --import tsx test/helpers/queue-worker-process.ts <redis URL> <postgres URL> <lockMs>
 */
import { startQueueWorker } from '../../src/queue/worker.js';
import { createPostgresStore } from '../../src/store/postgres.js';

const [redisURL, postgresURL, lockMs] = process.argv.slice(2);
if (!lockMs) throw new Error('usage: queue-worker-process.ts <redis URL> <postgres URL> <lockMs>');
const store = await createPostgresStore({ url: postgresURL });
store.write = () => {
  process.kill(process.pid, 'SIGKILL');
  return new Promise<void>(() => undefined);
};
await startQueueWorker({ url: redisURL, store, concurrency: 1, lockMs: Number(lockMs) });
process.stdout.write('ready\n');
