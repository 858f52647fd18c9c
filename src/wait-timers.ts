/**
 * The timeouts of `wait` nodes: each fires `due(taskID, nodeID)` at its deadline. Armed for waits that
 * start here, and for every wait a scan of the store finds (now and every interval): after a restart,
 * or once the process a task waited in has died, nothing else would fire them. Every runtime (or queue
 * worker) on a store arms them; the store's claim of the wait lets one of them through.
 */
import type { IReport } from '@flowgram.ai/runtime-interface';
import { ErrorCodes, FlowgramError, errorMessage } from './errors.js';
import type { TaskStore } from './store/types.js';

/** Stored waiting tasks whose timeouts are armed per scan of the store (beyond this, only new waits are). */
const MAX_REARMED = 10_000;
/** A stored waiting task's report is read again every this many scans: it may wait on another node by now. */
const RESCAN_EVERY = 10;
/** setTimeout holds at most ~24.8 days; a longer wait re-arms when that runs out. */
const MAX_DELAY_MS = 2_147_483_647;

/** The nodes a task's report says wait for a signal, with their deadlines. */
export function waitingInReport(report: IReport): Array<{ nodeID: string; deadline: number | undefined }> {
  if (report.workflowStatus.terminated) return [];
  const out: Array<{ nodeID: string; deadline: number | undefined }> = [];
  for (const nodeID in report.reports) {
    const nodeReport = report.reports[nodeID];
    const latest = nodeReport.snapshots.at(-1) as { waiting?: boolean; deadline?: number } | undefined;
    if (nodeReport.status === 'processing' && latest?.waiting === true) out.push({ nodeID, deadline: latest.deadline });
  }
  return out;
}

/** What a wait node fails with when its deadline passes (its onError decides what follows). */
export function waitTimeoutError(nodeID: string): FlowgramError {
  return new FlowgramError(ErrorCodes.NODE_TIMEOUT, `node "${nodeID}" timed out: no signal within its timeoutMs`, { nodeID });
}

export interface WaitTimersOptions {
  /** Times the wait out; resolves false when it was not waiting any more (answered, cancelled, timed out elsewhere). */
  due(taskID: string, nodeID: string): Promise<boolean>;
  /** Whether a wait the store no longer lists is still one to keep armed (it waits here, not written yet). */
  waitsHere?(taskID: string): boolean;
}

export class WaitTimers {
  /** Armed timeouts, by `taskID` + node. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Stored waiting tasks whose report a scan read, with the number of that scan. */
  private readonly scanned = new Map<string, number>();
  private scans = 0;
  private scanTimer: NodeJS.Timeout | undefined;
  /** The scan running now, if any: scans never overlap. */
  private scanning: Promise<void> | undefined;
  /** Timeouts being fired now (`due` in flight): close() waits for them, they use the store. */
  private readonly firing = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly store: TaskStore | undefined,
    private readonly options: WaitTimersOptions,
  ) {}

  /** Fires `due` at `deadline` (epoch ms), unless armed already or disarmed before. */
  arm(taskID: string, nodeID: string, deadline: number): void {
    const key = `${taskID}\u0000${nodeID}`;
    if (this.closed || this.timers.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      if (Date.now() < deadline) return this.arm(taskID, nodeID, deadline);
      const firing = this.options.due(taskID, nodeID).then(
        (timedOut) => {
          // Taken meanwhile: the next scan reads what the task waits on now.
          if (!timedOut) this.scanned.delete(taskID);
        },
        (error: unknown) => {
          this.scanned.delete(taskID);
          process.emitWarning(`flowgram: the wait of node "${nodeID}" in task ${taskID} could not time out: ${errorMessage(error)}`, 'FlowgramWaitWarning');
        },
      );
      this.firing.add(firing);
      void firing.finally(() => this.firing.delete(firing));
    }, Math.min(Math.max(0, deadline - Date.now()), MAX_DELAY_MS));
    timer.unref(); // a wait alone keeps no process alive
    this.timers.set(key, timer);
  }

  disarm(taskID: string, nodeID: string): void {
    const key = `${taskID}\u0000${nodeID}`;
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  /** Arms the timeouts of the tasks the store holds waiting, now and every `intervalMs`. Resolves after the first scan; never rejects. */
  watchStore(intervalMs: number): Promise<void> {
    if (!this.store || this.closed) return Promise.resolve();
    this.scanTimer ??= setInterval(() => void this.scan(), intervalMs);
    this.scanTimer.unref();
    return this.scan();
  }

  /**
   * Disarms everything and stops scanning. Resolves once the scan and the timeouts already in flight
   * have ended: the owner closes the store only after that, so none of them reads a closed store.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.scanTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([this.scanning, ...this.firing]);
  }

  private scan(): Promise<void> {
    this.scanning ??= this.armStored()
      .catch((error: unknown) => process.emitWarning(`flowgram: reading the tasks waiting in the store failed: ${errorMessage(error)}`, 'FlowgramWaitWarning'))
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  /** Arms the timeouts of the waiting tasks the store lists; a report is read once per RESCAN_EVERY scans. */
  private async armStored(): Promise<void> {
    const store = this.store;
    if (!store || this.closed) return;
    const scan = ++this.scans;
    const waiting = await store.listTasks({ status: 'waiting', limit: MAX_REARMED, offset: 0 });
    const listed = new Set<string>();
    for (const summary of waiting) {
      if (this.closed) return; // closing: what is left to read would arm nothing
      listed.add(summary.id);
      const seen = this.scanned.get(summary.id);
      if (seen !== undefined && scan - seen < RESCAN_EVERY) continue;
      this.scanned.set(summary.id, scan);
      const report = await store.getReport(summary.id);
      if (!report) continue;
      for (const { nodeID, deadline } of waitingInReport(report)) if (deadline !== undefined) this.arm(summary.id, nodeID, deadline);
    }
    for (const taskID of this.scanned.keys()) if (!listed.has(taskID)) this.scanned.delete(taskID);
    if (waiting.length === MAX_REARMED) return; // the listing is partial: an unlisted task may still wait
    // Waits that ended elsewhere (answered, cancelled) hold no timer here until their deadline.
    for (const key of this.timers.keys()) {
      const taskID = key.slice(0, key.indexOf('\u0000'));
      if (!listed.has(taskID) && this.options.waitsHere?.(taskID) !== true) this.disarm(taskID, key.slice(taskID.length + 1));
    }
  }
}
