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
    let reportTimer: NodeJS.Timeout | undefined;
    const saveReport = (): void => {
      reportTimer = undefined;
      if (!task.ended) this.redis.set(reportKey(task.id), JSON.stringify(task.report()), 'EX', this.ttlSeconds).catch(warnPublishFailed);
    };
    const publish = (event: TaskEvent): void => {
      this.redis.xadd(key, 'MAXLEN', '~', this.maxEvents, '*', EVENT_FIELD, JSON.stringify(event)).catch(warnPublishFailed);
      reportTimer ??= setTimeout(saveReport, this.reportIntervalMs);
    };
    return new Promise<void>((resolve) => {
      const finish = (event: FinishedEvent): void => {
        clearTimeout(reportTimer);
        reportTimer = undefined;
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
      this.redis.expire(key, this.ttlSeconds).catch(warnPublishFailed);
    });
  }

  /** Publishes the end of a task (and its final report) in one transaction; never rejects. */
  async publishFinished(event: FinishedEvent, report: IReport): Promise<void> {
    const key = eventsKey(event.taskID);
    await this.redis
      .multi()
      .set(reportKey(event.taskID), JSON.stringify(report), 'EX', this.ttlSeconds)
      .xadd(key, 'MAXLEN', '~', this.maxEvents, '*', EVENT_FIELD, JSON.stringify(event))
      .expire(key, this.ttlSeconds)
      .exec()
      .catch(warnPublishFailed);
  }

  /** Forgets an earlier run's events (before a resumable task runs again). */
  async reset(taskID: string): Promise<void> {
    await this.redis.del(eventsKey(taskID), reportKey(taskID)).catch(warnPublishFailed);
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
