/**
 * Accepting a task in queue mode: its `pending` row goes to the shared store (so every API server
 * answers for it at once), then its job to the queue. Requests arriving in the same turn of the event
 * loop share one store transaction and one queue round trip (addBulk); each caller's promise settles
 * once its task is durable in both.
 */
import type { Queue } from 'bullmq';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import type { TaskRecord, TaskStore, TaskUpdate } from '../store/types.js';
import type { TaskJob } from './job.js';

interface Waiting {
  record: TaskRecord;
  /** What the job carries beside the record (a re-run's node). */
  extra: Pick<TaskJob, 'rerun'>;
  resolve(): void;
  reject(error: unknown): void;
}

export class TaskAdmission {
  private waiting: Waiting[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: TaskStore,
    private readonly queue: Queue<TaskJob>,
  ) {}

  admit(record: TaskRecord, extra: Pick<TaskJob, 'rerun'> = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ record, extra, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        const done = this.flush();
        this.inFlight.add(done);
        void done.finally(() => this.inFlight.delete(done));
      });
    });
  }

  /** Resolves once every accepted task is in the queue (or has failed to get there). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.scheduled) await Promise.all([...this.inFlight, new Promise((resolve) => setImmediate(resolve))]);
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    this.scheduled = false;
    let stored = false;
    try {
      await this.store.write({ tasks: batch.map((entry) => entry.record), updates: [], events: [], reports: [] });
      stored = true;
      await this.queue.addBulk(
        batch.map(({ record, extra }) => ({
          name: 'run',
          data: { taskID: record.id, schema: record.schema, inputs: record.inputs, ...extra },
          // The task ID is the job ID: a task is queued once however often it is submitted.
          opts: { jobId: record.id, removeOnComplete: true, removeOnFail: 1_000 },
        })),
      );
      for (const entry of batch) entry.resolve();
    } catch (error) {
      // Rows that never reached the queue would stay `pending` forever: they end as failed.
      if (stored) await Promise.resolve(this.store.write({ tasks: [], updates: batch.map(({ record }) => notQueued(record, error)), events: [], reports: [] })).catch(() => undefined);
      // A store that cannot write is the server being unavailable (503), not a bug in the request.
      const refusal = stored ? error : new FlowgramError(ErrorCodes.STORE_UNAVAILABLE, `store: cannot write (${errorMessage(error)}); the task was not accepted`, { cause: error });
      for (const entry of batch) entry.reject(refusal);
    }
  }
}

function notQueued(record: TaskRecord, error: unknown): TaskUpdate {
  const now = Date.now();
  return { id: record.id, status: 'failed', startTime: now, endTime: now, outputs: {}, error: { code: ErrorCodes.INTERNAL, message: `queue: the task could not be queued: ${errorMessage(error)}` } };
}
