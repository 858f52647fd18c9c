/**
 * The worker's side of live progress: every TaskEvent of a running task goes to the task's Redis
 * stream, and its report to a key, refreshed at most every `reportIntervalMs`. The closing
 * `workflow_finished` event is published only once the outcome is durable in the store, so a client
 * that saw it always finds the final report in the store afterwards.
 */
import type { IReport } from '@flowgram.ai/runtime-interface';
import type { Redis } from 'ioredis';
import type { Task } from '../engine/task.js';
import type { TaskEvent } from '../engine/types.js';
import { errorMessage } from '../errors.js';
import { EVENT_FIELD, eventsKey, reportKey } from './keys.js';

export interface EventPublisherOptions {
  /** How long a task's stream and report stay in Redis after its last event (s). Default 3,600. */
  ttlSeconds?: number;
  /** Entries a stream keeps, approximately (XADD MAXLEN ~). Default 10,000. */
  maxEvents?: number;
  /** How often a running task's live report is refreshed (ms). Default 100. */
  reportIntervalMs?: number;
}

type FinishedEvent = Extract<TaskEvent, { type: 'workflow_finished' }>;

export class TaskEventPublisher {
  private readonly ttlSeconds: number;
  private readonly maxEvents: string;
  private readonly reportIntervalMs: number;
  /** Live report refreshes not sent yet, by task: close() drops them. */
  private readonly reportTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly redis: Redis,
    options: EventPublisherOptions = {},
  ) {
    this.ttlSeconds = options.ttlSeconds ?? 3_600;
    this.maxEvents = String(options.maxEvents ?? 10_000);
    this.reportIntervalMs = options.reportIntervalMs ?? 100;
  }

  /**
   * Publishes the task's events so far, then its live ones. Resolves once `workflow_finished` is
   * published, which waits for `beforeFinish` (the store write). Never rejects: a Redis outage costs
   * live progress, not the task.
   */
  follow(task: Task, beforeFinish: () => Promise<void>): Promise<void> {
    const key = eventsKey(task.id);
    const saveReport = (): void => {
      this.reportTimers.delete(task.id);
      if (!task.ended) this.send(() => this.redis.set(reportKey(task.id), JSON.stringify(task.report()), 'EX', this.ttlSeconds));
    };
    const publish = (event: TaskEvent): void => {
      this.send(() => this.redis.xadd(key, 'MAXLEN', '~', this.maxEvents, '*', EVENT_FIELD, JSON.stringify(event)));
      if (!this.closed && !this.reportTimers.has(task.id)) this.reportTimers.set(task.id, setTimeout(saveReport, this.reportIntervalMs));
    };
    return new Promise<void>((resolve) => {
      const finish = (event: FinishedEvent): void => {
        clearTimeout(this.reportTimers.get(task.id));
        this.reportTimers.delete(task.id);
        void beforeFinish()
          .catch(warnPublishFailed)
          .then(() => this.publishFinished(event, task.report()))
          .then(resolve);
      };
      // Events so far and the subscription are taken in the same tick: nothing falls between.
      for (const event of task.events()) {
        if (event.type === 'workflow_finished') return finish(event);
        publish(event);
      }
      // Ended but its closing event fell off the capped history: close with what the task says now.
      if (task.ended) return finish(finishedEventOf(task));
      const unsubscribe = task.subscribe(
        (event) => {
          if (event.type !== 'workflow_finished') return publish(event);
          unsubscribe();
          finish(event);
        },
        { replay: false },
      );
      this.send(() => this.redis.expire(key, this.ttlSeconds));
    });
  }

  /** Publishes the end of a task (and its final report) in one transaction; never rejects. */
  async publishFinished(event: FinishedEvent, report: IReport): Promise<void> {
    const key = eventsKey(event.taskID);
    await this.send(() =>
      this.redis
        .multi()
        .set(reportKey(event.taskID), JSON.stringify(report), 'EX', this.ttlSeconds)
        .xadd(key, 'MAXLEN', '~', this.maxEvents, '*', EVENT_FIELD, JSON.stringify(event))
        .expire(key, this.ttlSeconds)
        .exec(),
    );
  }

  /** Forgets an earlier run's events (before a resumable task runs again). */
  async reset(taskID: string): Promise<void> {
    await this.send(() => this.redis.del(eventsKey(taskID), reportKey(taskID)));
  }

  /**
   * Sends nothing more, from now on (the worker is about to quit its connection; a job run again
   * elsewhere publishes its task anew). Commands sent before still complete: QUIT waits for them.
   */
  close(): void {
    this.closed = true;
    for (const timer of this.reportTimers.values()) clearTimeout(timer);
    this.reportTimers.clear();
  }

  /** Sends a command unless closed; never rejects. */
  private async send(command: () => Promise<unknown>): Promise<void> {
    if (this.closed) return;
    // A failure after close() is the connection this worker dropped on purpose (the grace ran out).
    await command().catch((error: unknown) => {
      if (!this.closed) warnPublishFailed(error);
    });
  }
}

function finishedEventOf(task: Task): FinishedEvent {
  const summary = task.summary();
  const status = summary.status === 'succeeded' || summary.status === 'canceled' ? summary.status : 'failed';
  const event: FinishedEvent = {
    type: 'workflow_finished',
    taskID: task.id,
    status,
    time: summary.endTime ?? Date.now(),
    timeCost: summary.timeCost,
    outputs: task.result() ?? {},
  };
  const error = task.error;
  if (error && status !== 'succeeded') event.error = { ...error };
  return event;
}

function warnPublishFailed(error: unknown): void {
  process.emitWarning(`flowgram queue: publishing task progress failed: ${errorMessage(error)}`, 'FlowgramQueueWarning');
}
