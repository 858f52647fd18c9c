/**
 * The API server's side of live progress: a task running on any worker, seen through its Redis stream.
 * `open` replays the stream (XRANGE) and then follows it; all followed streams share one blocking
 * connection (one XREAD BLOCK over every watched stream), woken with CLIENT UNBLOCK when the set changes.
 */
import type { IReport } from '@flowgram.ai/runtime-interface';
import type { Redis } from 'ioredis';
import type { TaskEvent, TaskEventListener } from '../engine/types.js';
import { EVENT_FIELD, eventsKey } from './keys.js';

type StreamEntry = [id: string, fields: string[]];

/** What the SSE route needs of a task: its events so far, then live ones. */
export interface RemoteTask {
  readonly ended: boolean;
  events(): readonly TaskEvent[];
  subscribe(listener: TaskEventListener): () => void;
  report(): IReport;
  /** Resolves when `workflow_finished` arrives, or with false after `timeoutMs`. */
  waitForEnd(timeoutMs: number): Promise<boolean>;
  /** Stops following the stream (also done when the task ends or its last subscriber leaves). */
  close(): void;
}

interface Watch {
  key: string;
  /** The last entry delivered; XREAD continues after it. */
  lastID: string;
  onEntries(entries: StreamEntry[]): void;
}

const BLOCK_MS = 5_000;

export class TaskEventReader {
  private readonly watches = new Set<Watch>();
  private blockingClientID: number | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private readonly loop: Promise<void>;

  /** `blocking` is used for XREAD BLOCK only; `commands` for everything else. */
  constructor(
    private readonly commands: Redis,
    private readonly blocking: Redis,
  ) {
    // The ID changes with every reconnection; CLIENT UNBLOCK needs the current one.
    const refreshID = (): void => void this.blocking.client('ID').then((id) => (this.blockingClientID = Number(id)), () => undefined);
    this.blocking.on('ready', refreshID);
    if (this.blocking.status === 'ready') refreshID();
    this.loop = this.run();
  }

  /** Replays the task's stream and follows it until `workflow_finished` (or `close()`). */
  async open(taskID: string, fallbackReport: () => IReport): Promise<RemoteTask> {
    const key = eventsKey(taskID);
    const history = (await this.commands.xrange(key, '-', '+')) as StreamEntry[];
    const events: TaskEvent[] = [];
    let listeners: TaskEventListener[] = [];
    let ended = false;
    let endWaiters: Array<() => void> = [];
    let watch: Watch | undefined;
    const stop = (): void => {
      if (watch) this.unwatch(watch);
      watch = undefined;
    };
    const accept = (entries: StreamEntry[]): void => {
      for (const [, fields] of entries) {
        if (ended) return;
        const event = parseEvent(fields);
        if (!event) continue;
        events.push(event);
        if (event.type === 'workflow_finished') {
          ended = true;
          stop();
        }
        for (const listener of listeners) listener(event);
        if (ended) for (const resolve of endWaiters.splice(0)) resolve();
      }
    };
    accept(history);
    if (!ended) {
      watch = { key, lastID: history.length > 0 ? history[history.length - 1][0] : '0-0', onEntries: accept };
      this.addWatch(watch);
    }
    return {
      get ended() {
        return ended;
      },
      events: () => events,
      subscribe(listener) {
        listeners.push(listener);
        return () => {
          listeners = listeners.filter((candidate) => candidate !== listener);
          if (listeners.length === 0 && endWaiters.length === 0) stop();
        };
      },
      report: fallbackReport,
      waitForEnd(timeoutMs) {
        if (ended) return Promise.resolve(true);
        return new Promise<boolean>((resolve) => {
          const onEnd = (): void => {
            clearTimeout(timer);
            resolve(true);
          };
          const timer = setTimeout(() => {
            endWaiters = endWaiters.filter((waiter) => waiter !== onEnd);
            resolve(false);
          }, timeoutMs);
          endWaiters.push(onEnd);
        });
      },
      close: stop,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watches.clear();
    this.wake?.();
    this.interrupt();
    await this.loop;
  }

  private addWatch(watch: Watch): void {
    this.watches.add(watch);
    if (this.wake) this.wake();
    else this.interrupt();
  }

  private unwatch(watch: Watch): void {
    this.watches.delete(watch);
  }

  /** Ends the XREAD in flight so that the next one covers the current set of streams. */
  private interrupt(): void {
    if (this.blockingClientID !== undefined) this.commands.client('UNBLOCK', this.blockingClientID).catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.watches.size === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const watches = [...this.watches];
      // One position per stream: the earliest any watch of it still needs (duplicates are skipped below).
      const positions = new Map<string, string>();
      for (const watch of watches) {
        const known = positions.get(watch.key);
        if (known === undefined || compareStreamIDs(watch.lastID, known) < 0) positions.set(watch.key, watch.lastID);
      }
      let reply: Array<[key: string, entries: StreamEntry[]]> | null;
      try {
        reply = (await this.blocking.xread('BLOCK', BLOCK_MS, 'STREAMS', ...positions.keys(), ...positions.values())) as typeof reply;
      } catch {
        if (this.closed) break;
        await new Promise((resolve) => setTimeout(resolve, 200)); // reconnecting; ioredis retries the connection
        continue;
      }
      if (!reply) continue;
      for (const [key, entries] of reply) {
        for (const watch of watches) {
          if (watch.key !== key || !this.watches.has(watch)) continue;
          const fresh = entries.filter(([id]) => compareStreamIDs(id, watch.lastID) > 0);
          if (fresh.length === 0) continue;
          watch.lastID = fresh[fresh.length - 1][0];
          watch.onEntries(fresh);
        }
      }
    }
  }
}

function parseEvent(fields: string[]): TaskEvent | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === EVENT_FIELD) {
      try {
        return JSON.parse(fields[i + 1]) as TaskEvent;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Orders stream entry IDs (`<ms>-<seq>`). */
export function compareStreamIDs(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number);
  const [bMs, bSeq] = b.split('-').map(Number);
  return aMs - bMs || (aSeq ?? 0) - (bSeq ?? 0);
}
