import type { WorkflowStatusName } from '../engine/types.js';
import type { StoreCountFilter, StoreListFilter, TaskCounts } from './types.js';

/** What a listing filter looks at in a task. */
export interface ListedTask {
  id: string;
  title?: string;
  status: WorkflowStatusName;
  startTime: number;
}

/** Whether a task passes a listing filter's time range and search (status aside: counts group by it). */
export function matchesCountFilter(task: ListedTask, filter: StoreCountFilter): boolean {
  if (filter.since !== undefined && task.startTime < filter.since) return false;
  if (filter.until !== undefined && task.startTime >= filter.until) return false;
  if (filter.q) {
    const needle = filter.q.toLowerCase();
    if (!task.id.toLowerCase().includes(needle) && !(task.title ?? '').toLowerCase().includes(needle)) return false;
  }
  return true;
}

export function matchesListFilter(task: ListedTask, filter: Omit<StoreListFilter, 'limit' | 'offset'>): boolean {
  return (!filter.status || task.status === filter.status) && matchesCountFilter(task, filter);
}

export function emptyCounts(): TaskCounts {
  return { pending: 0, processing: 0, waiting: 0, succeeded: 0, failed: 0, canceled: 0 };
}

/** A `LIKE … ESCAPE '\'` pattern matching values that contain `text` literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
