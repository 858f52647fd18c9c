import type { Queue } from 'bullmq';
import type { QueueStats } from '../metrics/metrics.js';

/** The queue gauges' source: BullMQ's job counts and its list of connected workers. */
export function queueStats(queue: Queue): QueueStats {
  return {
    async jobs() {
      // 'wait' and 'prioritized' are both jobs no worker has taken yet.
      const counts = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed');
      return {
        waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
      };
    },
    workers: () => queue.getWorkersCount(),
  };
}
