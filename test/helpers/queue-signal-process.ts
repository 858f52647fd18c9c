/**
 * An API server in queue mode that dies in the middle of a signal: it answers `nodeID` of the waiting
 * task with `data` and SIGKILLs itself as soon as its claim of the wait is committed in the store,
 * before it could hand the task to a worker in any way after the claim. A separate process, so that
 * the crash is a real SIGKILL.
 * Run: node --import tsx test/helpers/queue-signal-process.ts <redis URL> <postgres URL> <taskID> <nodeID> <data JSON> <claimGraceMs>
 */
import { createRuntime } from '../../src/index.js';
import { createQueueTaskService } from '../../src/queue/queue-task-service.js';
import { createPostgresStore } from '../../src/store/postgres.js';

const [redisURL, postgresURL, taskID, nodeID, data, claimGraceMs] = process.argv.slice(2);
if (!claimGraceMs) throw new Error('usage: queue-signal-process.ts <redis URL> <postgres URL> <taskID> <nodeID> <data JSON> <claimGraceMs>');
const store = await createPostgresStore({ url: postgresURL });
const claimWaiting = store.claimWaiting.bind(store);
store.claimWaiting = async (id, owner) => {
  const claimed = await claimWaiting(id, owner);
  if (claimed) process.kill(process.pid, 'SIGKILL');
  return claimed;
};
const service = createQueueTaskService(createRuntime(), { url: redisURL, store, claimGraceMs: Number(claimGraceMs) });
await service.signal({ taskID, nodeID, data: JSON.parse(data) as Record<string, unknown> });
process.stderr.write('the signal went through without its claim\n');
process.exit(3);
