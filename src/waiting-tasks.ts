/**
 * Tasks waiting for a signal (`wait` nodes): answering them (`runtime.signal`), their wait timeouts,
 * and cancelling them. A waiting task runs nothing; with a store it is checkpointed there (status
 * `waiting`, its report) and may have left memory, so any runtime on the store can continue it: the
 * store's compare-and-set (`claimWaiting`) lets exactly one signal (or timeout) through.
 */
import type { IReport } from '@flowgram.ai/runtime-interface';
import type { WaitAnswer } from './engine/checkpoint.js';
import type { Task } from './engine/task.js';
import { ErrorCodes, FlowgramError } from './errors.js';
import type { WorkflowDocument } from './schema/document.js';
import type { IJsonSchema } from './schema/types.js';
import { validateInputs } from './schema/validate-inputs.js';
import type { TaskRecord, TaskStore } from './store/types.js';
import { WaitTimers, waitTimeoutError, waitingInReport } from './wait-timers.js';

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

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

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
  private readonly timers: WaitTimers;
  private closing = false;

  constructor(private readonly host: WaitingTasksHost) {
    this.timers = new WaitTimers(host.store, {
      due: (taskID, nodeID) => this.timeOut(taskID, nodeID),
      waitsHere: (taskID) => host.live(taskID)?.status === 'waiting',
    });
  }

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
    for (const { nodeID, deadline } of task.waitingNodes()) if (deadline !== undefined) this.timers.arm(task.id, nodeID, deadline);
  }

  /**
   * Arms the timeouts of the tasks the store holds waiting now and every `intervalMs`: after a restart,
   * or once the runtime a task waited on has died, nothing else would fire them. Resolves after the first scan; never rejects.
   */
  watchStored(intervalMs: number): Promise<void> {
    return this.timers.watchStore(intervalMs);
  }

  /** Stops the timeouts; resolves once those in flight have ended (the store may close after that). */
  close(): Promise<void> {
    this.closing = true;
    return this.timers.close();
  }

  /** A wait's deadline passed: its node fails with FLOWGRAM_ERR_NODE_TIMEOUT (onError decides what follows). False when it no longer waits. */
  private async timeOut(taskID: string, nodeID: string): Promise<boolean> {
    try {
      await this.answer(taskID, nodeID, { error: waitTimeoutError(nodeID) }, (_document, waiting) => {
        if (!waiting.includes(nodeID)) throw new FlowgramError(ErrorCodes.TASK_CONFLICT, 'answered meanwhile');
      });
      return true;
    } catch (failure) {
      // Answered, cancelled or taken by another runtime meanwhile: nothing to time out. Closing: a peer
      // or the next start times it out (a wait claimed just before is settled by their recovery).
      if (failure instanceof FlowgramError && (failure.code === ErrorCodes.TASK_CONFLICT || failure.code === ErrorCodes.TASK_NOT_FOUND || failure.code === ErrorCodes.SHUTTING_DOWN)) return false;
      throw failure;
    }
  }

  /** Checks (`check` throws), claims the wait in the store, and answers it where the task is: in memory, or continued from the store. */
  private async answer(taskID: string, nodeID: string, answer: WaitAnswer, check: (document: WorkflowDocument, waiting: string[]) => void): Promise<Task> {
    const { store } = this.host;
    // Nothing is claimed once closing: a task continued now would only be cancelled by the close.
    if (this.closing) throw new FlowgramError(ErrorCodes.SHUTTING_DOWN, 'runtime: closed, no new tasks are accepted');
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
      this.timers.disarm(taskID, nodeID);
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
    this.timers.disarm(taskID, nodeID);
    return this.host.continueStored(record, report, { nodeID, answer });
  }

  private takenMeanwhile(taskID: string): FlowgramError {
    return new FlowgramError(ErrorCodes.TASK_CONFLICT, `taskID: task "${taskID}" is no longer waiting (another signal, a timeout or a cancel came first)`);
  }
}
