/**
 * Tasks waiting for a signal (`wait` nodes): answering them (`runtime.signal`), their wait timeouts,
 * and cancelling them. A waiting task runs nothing; with a store it is checkpointed there (status
 * `waiting`, its report) and may have left memory, so any runtime on the store can continue it: the
 * store's compare-and-set (`claimWaiting`) lets exactly one signal (or timeout) through.
 */
import type { IReport } from '@flowgram.ai/runtime-interface';
import type { WaitAnswer } from './engine/checkpoint.js';
import type { Task } from './engine/task.js';
import { ErrorCodes, FlowgramError, errorMessage } from './errors.js';
import type { WorkflowDocument } from './schema/document.js';
import type { IJsonSchema } from './schema/types.js';
import { validateInputs } from './schema/validate-inputs.js';
import type { TaskRecord, TaskStore } from './store/types.js';

/** What the runtime lends: its tasks in memory, its store, and continuing a stored task. */
export interface WaitingTasksHost {
  live(taskID: string): Task | undefined;
  /** Forgets a task held in memory (a stale copy of one another runtime continued). */
  forget(task: Task): void;
  readonly store: TaskStore | undefined;
  /** The owner recorded for what this runtime runs. */
  readonly owner: string | undefined;
  /** Resolves once what the journal holds is durable (the store then knows a task waits). */
  flush(): Promise<void>;
  /** The compiled workflow of a stored task. */
  documentOf(record: TaskRecord): WorkflowDocument;
  /** Continues a stored waiting task from its report, answering one node (else it waits again). */
  continueStored(record: TaskRecord, report: IReport, answer?: { nodeID: string; answer: WaitAnswer }): Task;
}

/** Stored waiting tasks whose timeouts are armed per scan of the store (beyond this, only new waits are). */
const MAX_REARMED = 10_000;
/** A stored waiting task's report is read again every this many scans: it may wait on another node by now. */
const RESCAN_EVERY = 10;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

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

/**
 * Checks a signal before anything changes: the node exists, waits, and `data` fit its declared outputs
 * (FLOWGRAM_ERR_INPUTS_INVALID with a path per problem). Throws the FlowgramError that says why not.
 */
export function checkSignal(taskID: string, nodeID: string, node: { outputs?: IJsonSchema } | undefined, waiting: readonly string[], data: unknown): void {
  if (!isObject(data)) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `data: must be an object (the outputs of node "${nodeID}")`);
  if (!node) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `nodeID: the workflow of task "${taskID}" has no node "${nodeID}"`);
  if (!waiting.includes(nodeID)) throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `nodeID: node "${nodeID}" of task "${taskID}" is not waiting for a signal`);
  const errors = validateInputs(node.outputs, data, 'data');
  if (errors.length > 0) {
    throw new FlowgramError(ErrorCodes.INPUTS_INVALID, `data: does not fit the outputs node "${nodeID}" declares: ${errors.join('; ')}`, { details: errors, nodeID });
  }
}

export class WaitingTasks {
  /** Armed wait timeouts, by `taskID` + node. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Stored waiting tasks whose report a scan read, with the number of that scan. */
  private readonly scanned = new Map<string, number>();
  private scans = 0;
  private scanTimer: NodeJS.Timeout | undefined;
  /** The scan running now, if any: scans never overlap. */
  private scanning: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly host: WaitingTasksHost) {}

  /**
   * Answers `nodeID` of the waiting task with `data` (checked against the node's declared outputs) and
   * runs the workflow on, here. Resolves with the task once it runs again.
   */
  async signal(taskID: string, nodeID: string, data: unknown): Promise<Task> {
    if (!isObject(data)) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `data: must be an object (the outputs of node "${nodeID}")`);
    return this.answer(taskID, nodeID, { outputs: data }, (document, waiting) => checkSignal(taskID, nodeID, document.nodes.get(nodeID), waiting, data));
  }

  /**
   * Cancels a task, waiting or not, held here or only in the store. True when this call ended it,
   * false when it had ended (or runs elsewhere), undefined when unknown.
   */
  async cancel(taskID: string, reason: string): Promise<boolean | undefined> {
    const live = this.host.live(taskID);
    const { store } = this.host;
    if (live && !(store && live.status === 'waiting')) return live.cancel(reason);
    if (!store) return live ? live.cancel(reason) : undefined;
    const record = await store.getTask(taskID);
    if (!record) return live ? live.cancel(reason) : undefined;
    if (record.status !== 'waiting') return live ? live.cancel(reason) : false;
    const report = await store.getReport(taskID);
    if (!report) return false;
    await this.host.flush();
    if (!(await store.claimWaiting(taskID, this.host.owner))) {
      if (live?.status === 'waiting') this.host.forget(live); // another runtime took it: this copy is stale
      return false;
    }
    if (live?.status === 'waiting') return live.cancel(reason);
    if (live) this.host.forget(live);
    // Taken back from the store, it waits again at once (nothing runs), and is cancelled like any task.
    return this.host.continueStored(record, report).cancel(reason);
  }

  /** Arms the wait timeouts of a task that has just started to wait here. */
  suspended(task: Task): void {
    for (const { nodeID, deadline } of task.waitingNodes()) if (deadline !== undefined) this.arm(task.id, nodeID, deadline);
  }

  /**
   * Arms the timeouts of the tasks the store holds waiting now and every `intervalMs`: after a restart,
   * or once the runtime a task waited on has died, nothing else would fire them. Every runtime on the
   * store arms them; when one fires, the store's claim lets one runtime through. Resolves after the first scan; never rejects.
   */
  watchStored(intervalMs: number): Promise<void> {
    if (!this.host.store || this.closed) return Promise.resolve();
    this.scanTimer ??= setInterval(() => void this.scanStored(), intervalMs);
    this.scanTimer.unref();
    return this.scanStored();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.scanTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private scanStored(): Promise<void> {
    this.scanning ??= this.rearmStored()
      .catch((error: unknown) => process.emitWarning(`flowgram: reading the tasks waiting in the store failed: ${errorMessage(error)}`, 'FlowgramWaitWarning'))
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  /** Arms the timeouts of the waiting tasks the store lists; a report is read once per RESCAN_EVERY scans. */
  private async rearmStored(): Promise<void> {
    const store = this.host.store;
    if (!store || this.closed) return;
    const scan = ++this.scans;
    const waiting = await store.listTasks({ status: 'waiting', limit: MAX_REARMED, offset: 0 });
    const listed = new Set<string>();
    for (const summary of waiting) {
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
      if (!listed.has(taskID) && this.host.live(taskID)?.status !== 'waiting') this.disarm(taskID, key.slice(taskID.length + 1));
    }
  }

  private arm(taskID: string, nodeID: string, deadline: number): void {
    const key = `${taskID}\u0000${nodeID}`;
    if (this.closed || this.timers.has(key)) return;
    // setTimeout holds at most ~24.8 days; a longer wait re-arms when that runs out.
    const delay = Math.min(Math.max(0, deadline - Date.now()), 2_147_483_647);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      if (Date.now() < deadline) return this.arm(taskID, nodeID, deadline);
      const error = new FlowgramError(ErrorCodes.NODE_TIMEOUT, `node "${nodeID}" timed out: no signal within its timeoutMs`, { nodeID });
      this.answer(taskID, nodeID, { error }, (_document, waiting) => {
        if (!waiting.includes(nodeID)) throw new FlowgramError(ErrorCodes.TASK_CONFLICT, 'answered meanwhile');
      }).catch((failure: unknown) => {
        // Answered, cancelled or taken by another runtime meanwhile: nothing to time out (the next scan reads what it waits on now).
        this.scanned.delete(taskID);
        if (!(failure instanceof FlowgramError && (failure.code === ErrorCodes.TASK_CONFLICT || failure.code === ErrorCodes.TASK_NOT_FOUND))) {
          process.emitWarning(`flowgram: the wait of node "${nodeID}" in task ${taskID} could not time out: ${errorMessage(failure)}`, 'FlowgramWaitWarning');
        }
      });
    }, delay);
    timer.unref(); // a wait alone keeps no process alive
    this.timers.set(key, timer);
  }

  /** Checks (`check` throws), claims the wait in the store, and answers it where the task is: in memory, or continued from the store. */
  private async answer(taskID: string, nodeID: string, answer: WaitAnswer, check: (document: WorkflowDocument, waiting: string[]) => void): Promise<Task> {
    const { store } = this.host;
    const live = this.host.live(taskID);
    if (live?.status === 'waiting' && live.document) {
      check(live.document, live.waitingNodes().map((wait) => wait.nodeID));
      if (store) {
        // The store must know the task waits before its wait can be claimed.
        await this.host.flush();
        if (!(await store.claimWaiting(taskID, this.host.owner))) {
          this.host.forget(live); // another runtime took it: the store's state is newer than this copy
          throw this.takenMeanwhile(taskID);
        }
      }
      if (!live.answer(nodeID, answer)) throw this.takenMeanwhile(taskID);
      this.disarm(taskID, nodeID);
      return live;
    }
    const record = store ? await store.getTask(taskID) : undefined;
    if (!store || !record) {
      if (live) throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${taskID}" is ${live.status}, not waiting for a signal`);
      throw new FlowgramError(ErrorCodes.TASK_NOT_FOUND, `taskID: no such task "${taskID}"`);
    }
    if (record.status !== 'waiting') throw new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${taskID}" is ${record.status}, not waiting for a signal`);
    const report = await store.getReport(taskID);
    if (!report) throw this.takenMeanwhile(taskID);
    check(this.host.documentOf(record), waitingInReport(report).map((wait) => wait.nodeID));
    if (!(await store.claimWaiting(taskID, this.host.owner))) throw this.takenMeanwhile(taskID);
    if (live) this.host.forget(live); // a stale copy: the store's state is newer
    this.disarm(taskID, nodeID);
    return this.host.continueStored(record, report, { nodeID, answer });
  }

  private disarm(taskID: string, nodeID: string): void {
    const key = `${taskID}\u0000${nodeID}`;
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  private takenMeanwhile(taskID: string): FlowgramError {
    return new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${taskID}" is no longer waiting (another signal, a timeout or a cancel came first)`);
  }
}
