/**
 * Prometheus metrics (prom-client), fed by task events like every other consumer: tasks started and
 * ended by status, node durations by node type, and, in queue mode, the queue's depth and workers.
 * Each process has its own registry; Prometheus scrapes every API server and worker.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Task } from '../engine/task.js';
import type { TaskEvent } from '../engine/types.js';

/** What the queue gauges read at scrape time. */
export interface QueueStats {
  jobs(): Promise<{ waiting: number; active: number; delayed: number; failed: number }>;
  workers(): Promise<number>;
}

export interface FlowgramMetrics {
  readonly registry: Registry;
  /** The Content-Type of `render()`'s text. */
  readonly contentType: string;
  /** The exposition text for GET /metrics. */
  render(): Promise<string>;
  /** Counts a task that starts running here, and its nodes, until it ends. */
  observe(task: Task): void;
  /** Counts a task that ended without running here (e.g. marked failed after its worker died). */
  countEnded(status: 'succeeded' | 'failed' | 'canceled'): void;
  /** Reports the queue's depth and live workers at every scrape. */
  watchQueue(stats: QueueStats): void;
  /** Reports how many tasks wait for a signal (from the store, so the whole fleet's) at every scrape. */
  watchWaiting(count: () => Promise<number>): void;
}

/** From 1 ms to 2 min: code and condition nodes take microseconds to milliseconds, LLM calls seconds. */
const NODE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 120];

export function createMetrics(): FlowgramMetrics {
  const registry = new Registry();
  const started = new Counter({ name: 'flowgram_tasks_started_total', help: 'Tasks that started running in this process', registers: [registry] });
  const ended = new Counter({
    name: 'flowgram_tasks_finished_total',
    help: 'Tasks that ended, by status: succeeded, failed, canceled',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  for (const status of ['succeeded', 'failed', 'canceled']) ended.inc({ status }, 0); // every series exists from the start
  const nodeDuration = new Histogram({
    name: 'flowgram_node_duration_seconds',
    help: 'Node execution time, by node type and outcome',
    labelNames: ['node_type', 'status'] as const,
    buckets: NODE_BUCKETS,
    registers: [registry],
  });

  const retries = new Counter({
    name: 'flowgram_node_retries_total',
    help: 'Failed node attempts that were retried (retry policy), by node type',
    labelNames: ['node_type'] as const,
    registers: [registry],
  });
  const handled = new Counter({
    name: 'flowgram_node_errors_handled_total',
    help: 'Node failures an onError policy handled (continue or branch), by node type',
    labelNames: ['node_type'] as const,
    registers: [registry],
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observe(task) {
      started.inc();
      const record = (event: TaskEvent): void => {
        if (event.type === 'node_finished') {
          nodeDuration.observe({ node_type: event.nodeType, status: event.status }, event.timeCost / 1000);
          if (event.retryInMs !== undefined) retries.inc({ node_type: event.nodeType });
          if (event.errorHandled) handled.inc({ node_type: event.nodeType });
        } else if (event.type === 'workflow_finished') ended.inc({ status: event.status });
      };
      // Events so far (the engine may run the first nodes inside start()), then live ones, in one tick.
      for (const event of task.events()) record(event);
      if (task.ended) return;
      const unsubscribe = task.subscribe(
        (event) => {
          record(event);
          if (event.type === 'workflow_finished') unsubscribe();
        },
        { replay: false },
      );
    },
    watchWaiting(count) {
      new Gauge({
        name: 'flowgram_tasks_waiting',
        help: 'Tasks waiting for a signal to a wait node',
        registers: [registry],
        async collect() {
          this.set(await count());
        },
      });
    },
    countEnded(status) {
      ended.inc({ status });
    },
    watchQueue(stats) {
      const jobs = new Gauge({
        name: 'flowgram_queue_jobs',
        help: 'Tasks in the queue, by state: waiting, active, delayed, failed',
        labelNames: ['state'] as const,
        registers: [registry],
        async collect() {
          const counts = await stats.jobs();
          for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
        },
      });
      void jobs;
      new Gauge({
        name: 'flowgram_queue_workers',
        help: 'Worker processes connected to the queue',
        registers: [registry],
        async collect() {
          this.set(await stats.workers());
        },
      });
    },
  };
}
