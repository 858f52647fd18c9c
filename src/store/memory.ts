import type { IReport } from '@flowgram.ai/runtime-interface';
import type { TaskSummary } from '../engine/task.js';
import type { TaskEvent } from '../engine/types.js';
import { emptyCounts, matchesCountFilter, matchesListFilter } from './list-filter.js';
import { resolveRetention, startPruneTimer } from './retention.js';
import type { StoreRetention, TaskRecord, TaskStore } from './types.js';

export interface MemoryStoreOptions {
  retention?: StoreRetention;
}

interface MemoryEntry {
  record: TaskRecord;
  /** JSON, so that callers can never mutate what is stored. */
  report?: string;
  events: TaskEvent[];
}

/**
 * The store interface kept in process memory: the reference implementation of `TaskStore`, for
 * tests and for embedding with a bounded history. Nothing survives the process.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): TaskStore {
  const retention = resolveRetention(options.retention);
  /** Insertion order is acceptance order. */
  const entries = new Map<string, MemoryEntry>();
  /** Live runtimes' last heartbeat (ms since epoch). */
  const heartbeats = new Map<string, number>();

  function prune(now = Date.now()): number {
    let ended = 0;
    for (const { record } of entries.values()) if (record.endTime !== undefined) ended++;
    let deleted = 0;
    for (const [id, { record }] of entries) {
      if (record.endTime === undefined) continue;
      if (ended > retention.maxTasks || now - record.endTime > retention.maxAgeMs) {
        entries.delete(id);
        ended--;
        deleted++;
      }
    }
    return deleted;
  }

  const stopPruning = startPruneTimer(prune, retention.intervalMs);

  return {
    write(batch) {
      for (const record of batch.tasks) {
        entries.delete(record.id); // a resumed task replaces its interrupted run, and moves to the end
        entries.set(record.id, { record: structuredClone(record), events: [] });
      }
      for (const change of batch.updates) {
        const entry = entries.get(change.id);
        if (entry) entry.record = { ...entry.record, ...structuredClone(change) };
      }
      for (const event of batch.events) entries.get(event.taskID)?.events.push(structuredClone(event));
      for (const { taskID, reportJSON } of batch.reports) {
        const entry = entries.get(taskID);
        if (!entry) continue;
        entry.report = reportJSON;
        entry.events = [];
      }
    },
    getTask: (taskID) => {
      const entry = entries.get(taskID);
      return entry && structuredClone(entry.record);
    },
    getReport(taskID) {
      const report = entries.get(taskID)?.report;
      return report === undefined ? undefined : (JSON.parse(report) as IReport);
    },
    listTasks(filter) {
      const out: TaskSummary[] = [];
      let skip = filter.offset;
      const all = [...entries.values()];
      for (let i = all.length - 1; i >= 0 && out.length < filter.limit; i--) {
        const { record } = all[i];
        if (!matchesListFilter(record, filter)) continue;
        if (skip > 0) {
          skip--;
          continue;
        }
        out.push(summarize(record));
      }
      return out;
    },
    countTasks(filter) {
      const counts = emptyCounts();
      for (const { record } of entries.values()) if (matchesCountFilter(record, filter)) counts[record.status]++;
      return counts;
    },
    deleteTask: (taskID) => entries.delete(taskID),
    heartbeat(owner, alive) {
      if (alive) heartbeats.set(owner, Date.now());
      else heartbeats.delete(owner);
    },
    listOwners: () => [...heartbeats.keys()],
    claimAbandoned(owner, leaseMs) {
      const staleBefore = Date.now() - leaseMs;
      const claimed: TaskRecord[] = [];
      for (const { record } of entries.values()) {
        if (record.status !== 'pending' && record.status !== 'processing') continue;
        if (record.owner === owner) continue;
        const beat = record.owner === undefined ? undefined : heartbeats.get(record.owner);
        if (beat !== undefined && beat >= staleBefore) continue;
        record.owner = owner;
        claimed.push(structuredClone(record));
      }
      return claimed;
    },
    claimWaiting(taskID, owner) {
      const entry = entries.get(taskID);
      if (!entry || entry.record.status !== 'waiting') return false;
      entry.record = { ...entry.record, status: 'processing', owner };
      return true;
    },
    getEvents: (taskID) => structuredClone(entries.get(taskID)?.events ?? []),
    prune,
    close() {
      stopPruning();
    },
  };
}

function summarize(record: TaskRecord): TaskSummary {
  const { startTime, endTime } = record;
  const summary: TaskSummary = {
    id: record.id,
    status: record.status,
    title: record.title ?? '',
    startTime,
    timeCost: startTime === 0 ? 0 : (endTime ?? Date.now()) - startTime,
  };
  if (endTime !== undefined) summary.endTime = endTime;
  if (record.error && record.status !== 'succeeded') summary.error = record.error.message;
  if (record.rerunOf !== undefined) summary.rerunOf = record.rerunOf;
  return summary;
}
