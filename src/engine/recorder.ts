import type { IReport } from '@flowgram.ai/runtime-interface';
import type { DocumentNode, WorkflowDocument } from '../schema/document.js';
import type { WorkflowInputs, WorkflowOutputs } from '../schema/types.js';
import type { IterationCheckpoint, MessageLevel, TaskEvent, TaskEventListener, WorkflowStatusName } from './types.js';
import { limitExceeded } from '../limits.js';
import { SecretMatcher, isRedactable, redactValue } from '../redact.js';
import { EMPTY_RECORD, copyRecord, copyValue } from './value-types.js';

type NodeEndStatus = 'succeeded' | 'failed' | 'canceled';

/** One run of a node: the report's snapshot, plus what its node_started/node_finished events said. */
interface SnapshotRecord {
  /** Numbered per task; the report's snapshot ID is `<taskID>:<seq>` (built on export, not per run). */
  seq: number;
  inputs: WorkflowInputs;
  outputs: WorkflowOutputs | undefined;
  data: Record<string, unknown>;
  branch: string | undefined;
  error: string | undefined;
  /** Position of its node_started / node_finished event in the task's event sequence. */
  startSeq: number;
  /** Times are kept as ms after the recorder's `base` (small integers cost no allocation; epoch ms do). */
  startTime: number;
  endSeq: number;
  endTime: number;
  status: NodeEndStatus | undefined;
  /** Why the run ended, when that is not in `error` (a canceled run). */
  finishError: string | undefined;
  node: DocumentNode;
  /** The node's run before this one (loops run a node many times); a chain instead of a list per node. */
  previous: SnapshotRecord | undefined;
  /** A running loop's finished iterations (checkpoints), kept for replay until the loop finishes. */
  iterations: IterationRecord[] | undefined;
  /** The node's run after this one (to drop a run from the middle of the chain). */
  newer: SnapshotRecord | undefined;
  /** Which run of its node this is: 1, 2, … */
  run: number;
  /** JSON characters of its recorded inputs and of its outputs (what `maxReportBytes` counts). */
  inputBytes: number;
  outputBytes: number;
  /** On the latest run only: the oldest run of the node's last kept half (see `maxSnapshotsPerNode`). */
  windowTail: SnapshotRecord | undefined;
  /** What a node policy or a wait adds to this run; undefined for most runs. */
  extra: SnapshotExtra | undefined;
}

/** What a run of a node with policies (engine/node-policy.ts), or of a waiting node, adds to its snapshot. */
interface SnapshotExtra {
  /** Which attempt of a node with a `retry` policy this run is: 1, 2, … */
  attempt?: number;
  /** This failed attempt is retried after this many ms. */
  retryInMs?: number;
  /** The run failed, and its `onError` policy continued the workflow (with default outputs or the error port). */
  errorHandled?: boolean;
  /** The node waits for a signal (a `wait` node); nothing runs meanwhile. */
  waiting?: boolean;
  /** When the wait times out (epoch ms). */
  deadline?: number;
  /** Position of its node_waiting event in the task's event sequence. */
  waitSeq?: number;
  /** A top-level loop that failed or was cancelled: its finished iterations, which a resume continues after. */
  iterations?: readonly IterationCheckpoint[];
}

interface IterationRecord extends IterationCheckpoint {
  /** Position of its loop_iteration event in the task's event sequence. */
  seq: number;
  time: number;
}

/** The limits a recorder keeps a task's history within. */
export interface RecorderLimits {
  readonly maxMessages: number;
  readonly maxEvents: number;
  readonly maxSnapshotsPerNode: number;
  readonly maxSecretsPerTask: number;
}

interface StatusRecord {
  status: WorkflowStatusName;
  startTime: number;
  endTime: number | undefined;
}

interface MessageRecord {
  id: string;
  type: MessageLevel;
  message: string;
  nodeID?: string;
  /** The node run that logged it (`<taskID>:<seq>`, a snapshot's ID): which loop iteration said what. */
  snapshotID?: string;
  timestamp: number;
}

// Shared empty lists a recorder starts with (never written to: the first write replaces them).
const NO_MESSAGES: MessageRecord[] = [];
const NO_SEQS: number[] = [];
const NO_LISTENERS: readonly TaskEventListener[] = [];
const NO_ITERATIONS: readonly IterationRecord[] = [];

/** Progress events kept from inside `start()`; a workflow rarely has more synchronous progress than this. */
const MAX_EARLY_PROGRESS = 16;

const TERMINAL: ReadonlySet<WorkflowStatusName> = new Set(['succeeded', 'failed', 'canceled']);

/**
 * Records what a task did, in the upstream report's terms (statuses, snapshots, messages), and fans
 * each change out as a `TaskEvent` to live listeners. Both the report and the event history are built
 * from these records on demand: a task keeps no event objects (most tasks are never watched, and
 * finished tasks stay in memory for a while), only a sequence number per event in its records.
 */
export class TaskRecorder {
  readonly workflow: StatusRecord = { status: 'pending', startTime: 0, endTime: undefined };
  /**
   * Each node's latest run, in the order nodes first started. A node's status and times are its latest
   * run's (so there is no separate record per node); earlier runs hang off `previous`.
   */
  private readonly nodes = new Map<string, SnapshotRecord>();
  // Message lists and listeners are created on first use: most tasks have neither.
  private messages: MessageRecord[] = NO_MESSAGES;
  /** Event sequence numbers of `messages`, index for index. */
  private messageSeqs: number[] = NO_SEQS;
  /** Nodes running right now; when none are, ending the workflow has nothing to cancel. */
  private processing = 0;
  private droppedMessages = 0;
  private snapshotSeq = 0;
  private messageSeq = 0;
  /** Events emitted so far, heard or not; each record keeps the number of its own events. */
  private eventSeq = 0;
  private workflowStartSeq = -1;
  private finishedSeq = -1;
  /** Position of the workflow_waiting event while the task waits for a signal. */
  private waitingSeq = -1;
  private finishedError: { code: string; message: string; nodeID?: string } | undefined;
  private listeners: readonly TaskEventListener[] = NO_LISTENERS;
  /**
   * Progress events emitted inside `start()` (before anyone could subscribe), so a subscriber right after
   * `start()` hears them too; later progress is not kept (its data is merged into the snapshot).
   */
  private earlyProgress: Array<[number, TaskEvent]> | undefined;
  /** True while the workflow's first synchronous stretch runs (set by the engine around `start()`). */
  keepingEarlyProgress = false;
  /** Epoch ms the node times are relative to: when the workflow started. */
  private base = 0;
  outputs: WorkflowOutputs = {};
  /** The task whose outputs this one reused (`runtime.rerun`): the report says so, after the upstream fields. */
  rerunOf: string | undefined = undefined;
  /** Values that must never leave the task (e.g. API keys): masked in every event and report. */
  private readonly secrets: string[] = [];
  /** Built from `secrets` when first needed after a change: one pass over each string however many secrets. */
  private matcher: SecretMatcher | undefined;
  /** JSON characters of the inputs and outputs the kept snapshots hold. */
  keptBytes = 0;
  /** Whether listeners were told that later events are not sent (`maxEvents`). */
  private eventsCapped = false;
  private readonly maxMessages: number;
  private readonly maxSecrets: number;
  private readonly maxEvents: number;
  /** A node that runs more often keeps its first `firstKept` and last `lastKept` runs. */
  private readonly firstKept: number;
  private readonly lastKept: number;

  constructor(
    readonly taskID: string,
    readonly inputs: WorkflowInputs,
    limits: RecorderLimits,
    /** Whether loop iterations are recorded as checkpoints (a runtime with a store); nodes always are. */
    private readonly checkpoints = false,
  ) {
    this.maxMessages = limits.maxMessages;
    this.maxSecrets = limits.maxSecretsPerTask;
    this.maxEvents = limits.maxEvents;
    this.lastKept = Math.max(1, Math.ceil(limits.maxSnapshotsPerNode / 2));
    this.firstKept = Math.max(0, limits.maxSnapshotsPerNode - this.lastKept);
    // randomUUID() builds its text by concatenation: a tree of ~15 string pieces that a retained task
    // would keep. Converting to a number makes V8 flatten the string in place (the result is unused).
    void Number(taskID);
  }

  /** Masks this value wherever it appears in events emitted from now on and in every report. */
  addSecret(value: unknown): void {
    if (isRedactable(value) && !this.secrets.includes(value)) {
      // Thrown before the value is used: the node that brings one too many fails without sending it anywhere.
      if (this.secrets.length >= this.maxSecrets) throw limitExceeded('maxSecretsPerTask', `the task uses more than ${this.maxSecrets} distinct secret values`);
      this.secrets.push(value);
      this.matcher = undefined;
    }
  }

  /** A copy of a value with this task's secrets masked (the value itself when it has none). */
  mask<T>(value: T): T {
    if (this.secrets.length === 0) return value;
    this.matcher ??= new SecretMatcher(this.secrets);
    return redactValue(value, this.matcher);
  }

  /** ms since `base` as a small integer (`| 0`), so V8 stores it inline instead of boxing a double. */
  private since(time: number): number {
    return (time - this.base) | 0;
  }

  get terminated(): boolean {
    return TERMINAL.has(this.workflow.status);
  }

  subscribe(listener: TaskEventListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((candidate) => candidate !== listener);
    };
  }

  /**
   * Events so far, oldest first, rebuilt from the records (capped at `maxEvents`; `dropped` counts what
   * the cap and the message limit left out). Progress events are not replayed (their data is merged into
   * the snapshot's `data`, which the report shows), except the few emitted inside `start()`.
   */
  events(): { events: readonly TaskEvent[]; dropped: number } {
    const numbered: Array<[number, TaskEvent]> = [];
    if (this.workflowStartSeq >= 0) {
      numbered.push([this.workflowStartSeq, { type: 'workflow_started', taskID: this.taskID, time: this.workflow.startTime }]);
    }
    for (const latest of this.nodes.values()) {
      for (let snapshot: SnapshotRecord | undefined = latest; snapshot; snapshot = snapshot.previous) {
        numbered.push([snapshot.startSeq, this.startedEvent(snapshot.node, this.base + snapshot.startTime, snapshot.extra?.attempt)]);
        if (snapshot.extra?.waitSeq !== undefined) numbered.push([snapshot.extra.waitSeq, this.waitingEvent(snapshot)]);
        if (snapshot.status !== undefined) numbered.push([snapshot.endSeq, this.finishedEvent(snapshot.node, snapshot)]);
        for (const iteration of snapshot.iterations ?? NO_ITERATIONS) numbered.push([iteration.seq, this.iterationEvent(snapshot.node, iteration)]);
      }
    }
    this.messages.forEach((message, index) => numbered.push([this.messageSeqs[index], this.messageEvent(message)]));
    if (this.earlyProgress) numbered.push(...this.earlyProgress);
    if (this.workflow.status === 'waiting') numbered.push([this.waitingSeq, this.workflowWaitingEvent()]);
    numbered.sort((a, b) => a[0] - b[0]);
    const kept = numbered.slice(0, this.maxEvents);
    // The end is always replayed, as it is always sent: a late listener must learn the task ended.
    if (this.finishedSeq >= 0) kept.push([this.finishedSeq, this.workflowFinishedEvent()]);
    const events = kept.map(([, event]) => this.mask(event));
    return { events, dropped: this.eventSeq - events.length };
  }

  /**
   * Whether to send the event just numbered: someone listens (events are only built when someone does)
   * and the task has not sent `maxEvents` yet. The first event past the cap is replaced by one warning.
   */
  private get heard(): boolean {
    if (this.listeners.length === 0) return false;
    if (this.eventSeq <= this.maxEvents) return true;
    if (!this.eventsCapped) {
      this.eventsCapped = true;
      const message = `maxEvents: the task sent ${this.maxEvents} events; later node events and messages are not sent (the report keeps them within its own limits)`;
      this.dispatch({ type: 'message', taskID: this.taskID, level: 'warning', message, time: Date.now() });
    }
    return false;
  }

  private dispatch(event: TaskEvent): void {
    event = this.mask(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A consumer's bug must not break the run it watches.
      }
    }
  }

  /** Returns the start time, which the first node can reuse (reading the clock is not free in VMs). */
  workflowStarted(): number {
    const now = Date.now();
    this.workflow.status = 'processing';
    // A resumed task keeps the start of its first run (`restore`), and its times stay relative to it.
    if (this.workflow.startTime === 0) {
      this.base = now;
      this.workflow.startTime = now;
    }
    this.workflowStartSeq = this.eventSeq++;
    if (this.heard) this.dispatch({ type: 'workflow_started', taskID: this.taskID, time: now });
    return now;
  }

  workflowFinished(
    status: 'succeeded' | 'failed' | 'canceled',
    error?: { code: string; message: string; nodeID?: string },
  ): boolean {
    if (this.terminated) return false;
    const now = Date.now();
    if (this.workflow.startTime === 0) this.workflow.startTime = now;
    this.workflow.status = status;
    this.workflow.endTime = now;
    // Nodes still running when the workflow ends will never report back in this task.
    if (this.processing > 0) {
      for (const [nodeID, latest] of this.nodes) {
        if (latest.status === undefined) this.finishNode(nodeID, 'canceled', undefined, error?.message ?? 'workflow ended');
      }
    }
    this.finishedError = error;
    this.finishedSeq = this.eventSeq++;
    // Always sent, past `maxEvents` too: it is how listeners learn the task ended.
    if (this.listeners.length > 0) this.dispatch(this.workflowFinishedEvent());
    return true;
  }

  /**
   * The task waits for signals (its `wait` nodes): nothing runs until one arrives. The report still
   * says `processing` (upstream's status enum); the task's own status is `waiting`.
   */
  workflowWaiting(): void {
    this.workflow.status = 'waiting';
    this.waitingSeq = this.eventSeq++;
    if (this.heard) this.dispatch(this.workflowWaitingEvent());
  }

  private workflowWaitingEvent(): TaskEvent {
    const nodeIDs: string[] = [];
    for (const [nodeID, latest] of this.nodes) if (latest.status === undefined && latest.extra?.waiting) nodeIDs.push(nodeID);
    return { type: 'workflow_waiting', taskID: this.taskID, nodeIDs, time: Date.now() };
  }

  /** The run of this node that waits for a signal, if it does. */
  waitingSnapshot(nodeID: string): SnapshotRecord | undefined {
    const latest = this.nodes.get(nodeID);
    return latest && latest.status === undefined && latest.extra?.waiting ? latest : undefined;
  }

  /** Marks a run as waiting for a signal (until `deadline`, epoch ms, if any). */
  nodeWaiting(snapshot: SnapshotRecord, deadline: number | undefined): void {
    snapshot.extra = { ...snapshot.extra, waiting: true, waitSeq: this.eventSeq++ };
    if (deadline !== undefined) snapshot.extra.deadline = deadline;
    if (this.heard) this.dispatch(this.waitingEvent(snapshot));
  }

  private waitingEvent(snapshot: SnapshotRecord): TaskEvent {
    const event: TaskEvent = { type: 'node_waiting', taskID: this.taskID, nodeID: snapshot.node.id, time: this.base + snapshot.startTime };
    if (snapshot.extra?.deadline !== undefined) event.deadline = snapshot.extra.deadline;
    return event;
  }

  private workflowFinishedEvent(): TaskEvent {
    const { status, startTime, endTime } = this.workflow;
    const event: TaskEvent = {
      type: 'workflow_finished',
      taskID: this.taskID,
      status: status as 'succeeded' | 'failed' | 'canceled',
      time: endTime as number,
      timeCost: (endTime as number) - startTime,
      outputs: this.outputs,
    };
    if (this.finishedError) event.error = this.finishedError;
    return event;
  }

  /**
   * Starts a node execution; returns its snapshot, to be completed by `nodeSucceeded`/`nodeFailed`.
   * `now` may be a time the caller read an instant ago (e.g. when the previous node finished).
   */
  nodeStarted(node: DocumentNode, now = Date.now(), attempt?: number): SnapshotRecord {
    const offset = this.since(now);
    this.processing++;
    const previous = this.nodes.get(node.id);
    const snapshot: SnapshotRecord = {
      // Every field in the literal, so V8 keeps them all in the object (no property array per run).
      seq: ++this.snapshotSeq,
      inputs: EMPTY_RECORD as WorkflowInputs,
      outputs: undefined,
      data: node.snapshotData as Record<string, unknown>,
      branch: undefined,
      error: undefined,
      startSeq: 0,
      startTime: offset,
      endSeq: 0,
      endTime: 0,
      status: undefined,
      finishError: undefined,
      node,
      previous,
      newer: undefined,
      run: previous === undefined ? 1 : previous.run + 1,
      inputBytes: 0,
      outputBytes: 0,
      windowTail: undefined,
      iterations: undefined,
      extra: attempt === undefined ? undefined : { attempt },
    };
    if (previous !== undefined) this.keepHalves(previous, snapshot);
    // Replacing a key's value keeps its place, so the map stays in first-start order.
    this.nodes.set(node.id, snapshot);
    snapshot.startSeq = this.eventSeq++;
    if (this.heard) this.dispatch(this.startedEvent(node, now, attempt));
    return snapshot;
  }

  /**
   * Keeps a node's first `firstKept` and last `lastKept` runs: once the latest ones outnumber
   * `lastKept`, the oldest of them leaves the chain (its bytes leave the report's count).
   */
  private keepHalves(previous: SnapshotRecord, snapshot: SnapshotRecord): void {
    previous.newer = snapshot;
    const tail = previous.windowTail ?? snapshot;
    // Only the latest run points at the window: a pointer left on an older run would keep dropped runs alive.
    previous.windowTail = undefined;
    if (snapshot.run <= this.firstKept) return;
    if (snapshot.run - tail.run < this.lastKept) {
      snapshot.windowTail = tail;
      return;
    }
    const next = tail.newer as SnapshotRecord;
    next.previous = tail.previous;
    if (tail.previous !== undefined) tail.previous.newer = next;
    tail.previous = undefined;
    tail.newer = undefined;
    this.keptBytes -= tail.inputBytes + tail.outputBytes;
    snapshot.windowTail = next;
  }

  /** Nodes running right now (their latest run has not ended). */
  runningNodeIDs(): string[] {
    const running: string[] = [];
    for (const [nodeID, latest] of this.nodes) if (latest.status === undefined) running.push(nodeID);
    return running;
  }

  /** Runs of a node its report leaves out (between the kept first and last halves). */
  private omittedRuns(latest: SnapshotRecord): number {
    return Math.max(0, latest.run - this.firstKept - this.lastKept);
  }

  /**
   * Records (or replaces) a run's inputs, already copied, `bytes` JSON characters; false, recording
   * nothing, when the report would then hold more than `maxReportBytes`.
   */
  recordInputs(snapshot: SnapshotRecord, inputs: WorkflowInputs, bytes: number, maxReportBytes: number): boolean {
    const kept = this.keptBytes - snapshot.inputBytes + bytes;
    if (kept > maxReportBytes) return false;
    snapshot.inputs = inputs;
    snapshot.inputBytes = bytes;
    this.keptBytes = kept;
    return true;
  }

  nodeProgress(nodeID: string, snapshot: SnapshotRecord, data: Record<string, unknown>): void {
    // The node's configuration is shared by every run; progress goes into this snapshot's own copy.
    snapshot.data = { ...snapshot.data, ...copyValue(data) };
    const seq = this.eventSeq++;
    if (this.heard) this.dispatch({ type: 'node_progress', taskID: this.taskID, nodeID, data, time: Date.now() });
    else if (this.keepingEarlyProgress && (this.earlyProgress?.length ?? 0) < MAX_EARLY_PROGRESS) {
      (this.earlyProgress ??= []).push([seq, { type: 'node_progress', taskID: this.taskID, nodeID, data: copyValue(data), time: Date.now() }]);
    }
  }

  /** Returns the time it recorded as the end. `outputs` is the engine's copy (`bytes` JSON characters). */
  nodeSucceeded(node: DocumentNode, snapshot: SnapshotRecord, outputs: WorkflowOutputs, bytes: number, branch: string | undefined): number {
    snapshot.outputs = outputs;
    snapshot.outputBytes = bytes;
    this.keptBytes += bytes;
    if (branch !== undefined) snapshot.branch = branch;
    return this.finishNode(node.id, 'succeeded', snapshot.outputs, undefined, branch);
  }

  nodeFailed(node: DocumentNode, snapshot: SnapshotRecord, message: string, status: 'failed' | 'canceled' = 'failed'): void {
    snapshot.error = message;
    if (status === 'failed') this.message('error', message, node.id, snapshot);
    this.finishNode(node.id, status, undefined, message);
  }

  /** An attempt of a node with a `retry` policy failed; the next one starts after `retryInMs`. */
  attemptFailed(node: DocumentNode, snapshot: SnapshotRecord, message: string, retryInMs: number): void {
    snapshot.error = message;
    snapshot.extra = { ...snapshot.extra, retryInMs };
    const attempt = snapshot.extra.attempt ?? 1;
    this.message('warning', `attempt ${attempt} of node "${node.id}" failed: ${message}; retrying in ${retryInMs} ms`, node.id, snapshot);
    this.finishNode(node.id, 'failed', undefined, message);
  }

  /**
   * A node failed and its `onError` policy goes on: its status stays `failed` (with the error), its
   * `outputs` (defaults, or `{ error }` for the error port) are what later nodes read.
   */
  nodeErrorHandled(node: DocumentNode, snapshot: SnapshotRecord, message: string, outputs: WorkflowOutputs, bytes: number, branch: string | undefined): number {
    snapshot.error = message;
    snapshot.outputs = outputs;
    snapshot.outputBytes = bytes;
    this.keptBytes += bytes;
    if (branch !== undefined) snapshot.branch = branch;
    snapshot.extra = { ...snapshot.extra, errorHandled: true };
    this.message('warning', `node "${node.id}" failed: ${message}; ${branch === undefined ? 'continuing with its default outputs' : `following its "${branch}" port`} (onError)`, node.id, snapshot);
    return this.finishNode(node.id, 'failed', outputs, message, branch);
  }

  private finishNode(
    nodeID: string,
    status: NodeEndStatus,
    outputs: WorkflowOutputs | undefined,
    error: string | undefined,
    branch?: string,
  ): number {
    const now = Date.now();
    const snapshot = this.nodes.get(nodeID);
    if (!snapshot || snapshot.status !== undefined) return now;
    this.processing--;
    snapshot.status = status;
    snapshot.endTime = this.since(now);
    // A loop that failed or was cancelled keeps its finished iterations in its snapshot (the report is what a
    // resume continues from); a finished loop's outputs are its checkpoint now.
    if (status !== 'succeeded' && snapshot.iterations !== undefined && snapshot.iterations.length > 0) {
      snapshot.extra = { ...snapshot.extra, iterations: snapshot.iterations.map(({ index, control, outputs: values }) => ({ index, control, outputs: values })) };
    }
    snapshot.iterations = undefined;
    if (snapshot.extra?.waiting) snapshot.extra.waiting = false;
    // Only for replay: a canceled run's reason is not part of its snapshot in the report.
    if (error !== undefined && snapshot.error === undefined) snapshot.finishError = error;
    snapshot.endSeq = this.eventSeq++;
    if (this.heard) this.dispatch(this.finishedEvent(snapshot.node, snapshot, outputs, branch, error));
    return now;
  }

  /** Records a finished iteration of a running loop (a checkpoint); `restored` ones came from an earlier run. */
  iterationFinished(snapshot: SnapshotRecord, iteration: IterationCheckpoint, time = Date.now()): void {
    if (!this.checkpoints || snapshot.status !== undefined) return;
    const record: IterationRecord = { index: iteration.index, control: iteration.control, outputs: copyRecord(iteration.outputs), seq: this.eventSeq++, time };
    (snapshot.iterations ??= []).push(record);
    if (this.heard) this.dispatch(this.iterationEvent(snapshot.node, record));
  }

  private iterationEvent(node: DocumentNode, record: IterationRecord): TaskEvent {
    return { type: 'loop_iteration', taskID: this.taskID, nodeID: node.id, index: record.index, control: record.control, outputs: record.outputs, time: record.time };
  }

  /**
   * Takes over an earlier run's report (a resumed task): its node snapshots and messages stay, the
   * workflow keeps its first start time, and new snapshots and messages are numbered after them.
   * Nodes the document no longer has are left out. Call before `workflowStarted`.
   */
  restore(report: IReport, document: WorkflowDocument): void {
    this.base = report.workflowStatus.startTime;
    this.workflow.startTime = report.workflowStatus.startTime;
    for (const nodeID in report.reports) {
      const node = document.nodes.get(nodeID);
      const nodeReport = report.reports[nodeID];
      if (!node) continue;
      const startTime = this.since(nodeReport.startTime);
      const endTime = this.since(nodeReport.endTime ?? nodeReport.startTime);
      const snapshots = nodeReport.snapshots as unknown as Array<Record<string, unknown>>;
      for (let i = 0; i < snapshots.length; i++) {
        const old = snapshots[i];
        const latest = i === snapshots.length - 1;
        const outputs = old.outputs as WorkflowOutputs | undefined;
        // The report has a status per node (its latest run's): an earlier run succeeded when it has outputs.
        const extra = restoredExtra(old);
        // A node still waiting for its signal stays running: the continued task waits on it again, or answers it.
        const waiting = latest && extra?.waiting === true && !TERMINAL.has(nodeReport.status as WorkflowStatusName);
        const status: NodeEndStatus | undefined = waiting
          ? undefined
          : latest && TERMINAL.has(nodeReport.status as WorkflowStatusName)
            ? (nodeReport.status as NodeEndStatus)
            : outputs === undefined ? (typeof old.error === 'string' ? 'failed' : 'canceled') : 'succeeded';
        const seq = Number(/:(\d+)$/.exec(String(old.id))?.[1] ?? ++this.snapshotSeq);
        const previous = this.nodes.get(nodeID);
        if (seq > this.snapshotSeq) this.snapshotSeq = seq;
        const snapshot: SnapshotRecord = {
          seq,
          inputs: (old.inputs ?? {}) as WorkflowInputs,
          outputs,
          data: (old.data ?? {}) as Record<string, unknown>,
          branch: typeof old.branch === 'string' ? old.branch : undefined,
          error: typeof old.error === 'string' ? old.error : undefined,
          startSeq: this.eventSeq++,
          startTime,
          endSeq: this.eventSeq++,
          endTime,
          status,
          finishError: undefined,
          node,
          previous,
          newer: undefined,
          run: previous === undefined ? 1 : previous.run + 1,
          inputBytes: 0,
          outputBytes: 0,
          windowTail: undefined,
          iterations: undefined,
          extra,
        };
        if (extra?.waiting && waiting) extra.waitSeq = this.eventSeq++;
        else if (extra?.waiting) extra.waiting = false;
        if (status === undefined) this.processing++;
        if (previous !== undefined) previous.newer = snapshot;
        this.nodes.set(nodeID, snapshot);
      }
    }
    for (const level of Object.keys(report.messages) as MessageLevel[]) {
      for (const message of report.messages[level] as MessageRecord[]) {
        if (message.id.endsWith(':dropped')) continue;
        const number = Number(/:m(\d+)$/.exec(message.id)?.[1] ?? 0);
        if (number > this.messageSeq) this.messageSeq = number;
        if (this.messages === NO_MESSAGES) {
          this.messages = [];
          this.messageSeqs = [];
        }
        this.messages.push({ ...message });
        this.messageSeqs.push(this.eventSeq++);
      }
    }
  }

  /** Records finished iterations of a loop's new run that an earlier run had done, so that they are journaled again. */
  iterationsRestored(snapshot: SnapshotRecord, iterations: readonly IterationCheckpoint[]): void {
    for (const iteration of iterations) this.iterationFinished(snapshot, iteration, this.base + snapshot.startTime);
  }

  private startedEvent(node: DocumentNode, time: number, attempt: number | undefined): TaskEvent {
    const event: TaskEvent = { type: 'node_started', taskID: this.taskID, nodeID: node.id, nodeType: node.type, title: node.title, time };
    if (attempt !== undefined) event.attempt = attempt;
    return event;
  }

  private finishedEvent(
    node: DocumentNode,
    snapshot: SnapshotRecord,
    outputs = snapshot.outputs,
    branch = snapshot.branch,
    error = snapshot.error ?? snapshot.finishError,
  ): TaskEvent {
    const event: TaskEvent = {
      type: 'node_finished',
      taskID: this.taskID,
      nodeID: node.id,
      nodeType: node.type,
      title: node.title,
      status: snapshot.status as NodeEndStatus,
      time: this.base + snapshot.endTime,
      timeCost: snapshot.endTime - snapshot.startTime,
    };
    if (outputs !== undefined) event.outputs = outputs;
    if (branch !== undefined) event.branch = branch;
    if (error !== undefined) event.error = error;
    const extra = snapshot.extra;
    if (extra !== undefined) {
      if (extra.attempt !== undefined) event.attempt = extra.attempt;
      if (extra.retryInMs !== undefined) event.retryInMs = extra.retryInMs;
      if (extra.errorHandled) event.errorHandled = true;
    }
    return event;
  }

  private messageEvent(record: MessageRecord): TaskEvent {
    const event: TaskEvent = { type: 'message', taskID: this.taskID, level: record.type, message: record.message, time: record.timestamp };
    if (record.nodeID !== undefined) event.nodeID = record.nodeID;
    if (record.snapshotID !== undefined) event.snapshotID = record.snapshotID;
    return event;
  }

  message(level: MessageLevel, message: string, nodeID?: string, snapshot?: SnapshotRecord): void {
    const now = Date.now();
    const record: MessageRecord = { id: `${this.taskID}:m${++this.messageSeq}`, type: level, message, timestamp: now };
    if (nodeID !== undefined) record.nodeID = nodeID;
    if (snapshot !== undefined) record.snapshotID = `${this.taskID}:${snapshot.seq}`;
    const seq = this.eventSeq++;
    if (this.heard) this.dispatch(this.messageEvent(record));
    if (this.messages.length < this.maxMessages) {
      if (this.messages === NO_MESSAGES) {
        this.messages = [];
        this.messageSeqs = [];
      }
      this.messages.push(record);
      this.messageSeqs.push(seq);
    } else {
      this.droppedMessages++;
    }
  }

  private exportSnapshot(nodeID: string, snapshot: SnapshotRecord): Record<string, unknown> {
    const out: Record<string, unknown> = {
      id: `${this.taskID}:${snapshot.seq}`,
      nodeID,
      inputs: copyValue(snapshot.inputs),
      data: copyValue(snapshot.data),
    };
    if (snapshot.outputs !== undefined) out.outputs = copyValue(snapshot.outputs);
    if (snapshot.branch !== undefined) out.branch = snapshot.branch;
    if (snapshot.error !== undefined) out.error = snapshot.error;
    const extra = snapshot.extra;
    if (extra !== undefined) {
      if (extra.attempt !== undefined) out.attempt = extra.attempt;
      if (extra.errorHandled) out.errorHandled = true;
      if (extra.waiting) out.waiting = true;
      if (extra.waiting && extra.deadline !== undefined) out.deadline = extra.deadline;
      if (extra.iterations !== undefined) out.iterations = copyValue(extra.iterations);
    }
    return out;
  }

  /**
   * The upstream `IReport`, as plain data that survives JSON and structured cloning. It is the
   * caller's to keep and change: it never shares objects with the recorder (or the document).
   */
  report(): IReport {
    const now = Date.now();
    const reports: IReport['reports'] = {};
    for (const [nodeID, latest] of this.nodes) {
      const snapshots: Array<Record<string, unknown>> = [];
      for (let snapshot: SnapshotRecord | undefined = latest; snapshot; snapshot = snapshot.previous) snapshots.push(this.exportSnapshot(nodeID, snapshot));
      snapshots.reverse();
      const nodeReport: IReport['reports'][string] & { snapshotsOmitted?: number } = {
        id: nodeID,
        ...exportStatus(nodeStatus(latest), now, this.base),
        // Upstream's TS type says `outputs` is always there; its zod schema and its runtime leave it out on failure.
        snapshots: snapshots as unknown as IReport['reports'][string]['snapshots'],
      };
      const omitted = this.omittedRuns(latest);
      if (omitted > 0) nodeReport.snapshotsOmitted = omitted;
      reports[nodeID] = nodeReport;
    }
    const messages: Record<MessageLevel, MessageRecord[]> = { log: [], info: [], debug: [], error: [], warning: [] };
    for (const message of this.messages) messages[message.type].push({ ...message });
    for (const warning of this.limitWarnings(now)) messages.warning.push(warning);
    const report = {
      id: this.taskID,
      inputs: copyValue(this.inputs),
      outputs: copyValue(this.outputs),
      workflowStatus: exportStatus(this.workflow, now, 0),
      reports,
      messages: messages as unknown as IReport['messages'],
      ...(this.rerunOf === undefined ? {} : { rerunOf: this.rerunOf }),
    } as IReport;
    return this.mask(report);
  }

  /**
   * `JSON.stringify(this.report())`, written straight from the records: no report objects, no copies
   * (what stores write for every task). The text must stay identical; recorder.test.ts checks it.
   */
  reportJSON(): string {
    // Masking walks a copy anyway; node IDs that JSON.stringify would reorder (integer-like) or drop
    // (`__proto__`) take the same path.
    if (this.secrets.length > 0) return JSON.stringify(this.report());
    for (const nodeID of this.nodes.keys()) if (!isOrderedKey(nodeID)) return JSON.stringify(this.report());
    const now = Date.now();
    let reports = '';
    for (const [nodeID, latest] of this.nodes) {
      const id = JSON.stringify(nodeID);
      let snapshots = '';
      for (let snapshot: SnapshotRecord | undefined = latest; snapshot; snapshot = snapshot.previous) {
        // Oldest first, as report() has them: each earlier run goes in front.
        snapshots = snapshots === '' ? this.snapshotJSON(id, snapshot) : `${this.snapshotJSON(id, snapshot)},${snapshots}`;
      }
      const omitted = this.omittedRuns(latest);
      reports += `${reports === '' ? '' : ','}${id}:{"id":${id},${statusJSON(exportStatus(nodeStatus(latest), now, this.base))},"snapshots":[${snapshots}]${omitted > 0 ? `,"snapshotsOmitted":${omitted}` : ''}}`;
    }
    const json =
      `{"id":${JSON.stringify(this.taskID)}${property('inputs', this.inputs)}${property('outputs', this.outputs)}` +
      `,"workflowStatus":{${statusJSON(exportStatus(this.workflow, now, 0))}},"reports":{${reports}},"messages":${this.messagesJSON(now)}` +
      `${this.rerunOf === undefined ? '' : `,"rerunOf":${JSON.stringify(this.rerunOf)}`}}`;
    // The text is a tree of many concatenated pieces; structured cloning (to the SQLite writer thread)
    // reads such a tree far slower than a flat string. Converting to a number flattens it in place.
    void Number(json);
    return json;
  }

  private snapshotJSON(nodeID: string, snapshot: SnapshotRecord): string {
    const data = snapshot.data === snapshot.node.snapshotData ? configJSON(snapshot.node) : property('data', snapshot.data);
    let out = `{"id":${JSON.stringify(`${this.taskID}:${snapshot.seq}`)},"nodeID":${nodeID}${property('inputs', snapshot.inputs)}${data}`;
    if (snapshot.outputs !== undefined) out += property('outputs', snapshot.outputs);
    if (snapshot.branch !== undefined) out += `,"branch":${JSON.stringify(snapshot.branch)}`;
    if (snapshot.error !== undefined) out += `,"error":${JSON.stringify(snapshot.error)}`;
    const extra = snapshot.extra;
    if (extra !== undefined) {
      if (extra.attempt !== undefined) out += `,"attempt":${numberJSON(extra.attempt)}`;
      if (extra.errorHandled) out += ',"errorHandled":true';
      if (extra.waiting) out += ',"waiting":true';
      if (extra.waiting && extra.deadline !== undefined) out += `,"deadline":${numberJSON(extra.deadline)}`;
      if (extra.iterations !== undefined) out += property('iterations', extra.iterations);
    }
    return `${out}}`;
  }

  private messagesJSON(now: number): string {
    const warnings = this.limitWarnings(now);
    if (this.messages.length === 0 && warnings.length === 0) return NO_MESSAGES_JSON;
    const levels: Record<MessageLevel, string> = { log: '', info: '', debug: '', error: '', warning: '' };
    const add = (message: MessageRecord): void => {
      let out = `{"id":${JSON.stringify(message.id)},"type":"${message.type}","message":${JSON.stringify(message.message)},"timestamp":${numberJSON(message.timestamp)}`;
      if (message.nodeID !== undefined) out += `,"nodeID":${JSON.stringify(message.nodeID)}`;
      if (message.snapshotID !== undefined) out += `,"snapshotID":${JSON.stringify(message.snapshotID)}`;
      levels[message.type] += `${levels[message.type] === '' ? '' : ','}${out}}`;
    };
    for (const message of this.messages) add(message);
    for (const warning of warnings) add(warning);
    return `{"log":[${levels.log}],"info":[${levels.info}],"debug":[${levels.debug}],"error":[${levels.error}],"warning":[${levels.warning}]}`;
  }

  /** The warnings that stand for what the report's limits left out: messages beyond `maxMessages`, events beyond `maxEvents`. */
  private limitWarnings(now: number): MessageRecord[] {
    const warnings: MessageRecord[] = [];
    if (this.droppedMessages > 0) {
      const message = `${this.droppedMessages} more messages were dropped (limit ${this.maxMessages})`;
      warnings.push({ id: `${this.taskID}:dropped`, type: 'warning', message, timestamp: now });
    }
    if (this.eventSeq > this.maxEvents) {
      const message = `maxEvents: the task emitted ${this.eventSeq} events; listeners were sent the first ${this.maxEvents} (limit maxEvents)`;
      warnings.push({ id: `${this.taskID}:events`, type: 'warning', message, timestamp: now });
    }
    return warnings;
  }
}

/** `,"data":<JSON>` of each node's configuration, which every run without progress shares (documents are never changed). */
const configJSONs = new WeakMap<DocumentNode, string>();

function configJSON(node: DocumentNode): string {
  let json = configJSONs.get(node);
  if (json === undefined) {
    json = property('data', node.snapshotData);
    configJSONs.set(node, json);
  }
  return json;
}

const NO_MESSAGES_JSON = '{"log":[],"info":[],"debug":[],"error":[],"warning":[]}';

/** What an exported snapshot says of its policies and waiting (see `SnapshotExtra`). */
function restoredExtra(old: Record<string, unknown>): SnapshotExtra | undefined {
  if (old.attempt === undefined && old.errorHandled === undefined && old.waiting === undefined && old.iterations === undefined) return undefined;
  const extra: SnapshotExtra = {};
  if (typeof old.attempt === 'number') extra.attempt = old.attempt;
  if (old.errorHandled === true) extra.errorHandled = true;
  if (old.waiting === true) extra.waiting = true;
  if (typeof old.deadline === 'number') extra.deadline = old.deadline;
  if (Array.isArray(old.iterations)) extra.iterations = old.iterations as IterationCheckpoint[];
  return extra;
}

/** A node's status record: its latest run's. */
function nodeStatus(latest: SnapshotRecord): StatusRecord {
  return { status: latest.status ?? 'processing', startTime: latest.startTime, endTime: latest.status === undefined ? undefined : latest.endTime };
}

/** Whether JSON.stringify keeps this key where it was inserted: integer-like keys go first, `__proto__` is no key at all. */
function isOrderedKey(key: string): boolean {
  return key !== '__proto__' && !/^(?:0|[1-9]\d*)$/.test(key);
}

/** `,"key":<JSON>`, or nothing for a value JSON leaves out (undefined, a function), as JSON.stringify does for an object's property. */
function property(key: string, value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? '' : `,"${key}":${json}`;
}

function numberJSON(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

function statusJSON(status: IReport['workflowStatus']): string {
  const end = status.endTime === undefined ? '' : `,"endTime":${numberJSON(status.endTime)}`;
  return `"status":"${status.status}","terminated":${status.terminated},"startTime":${numberJSON(status.startTime)},"timeCost":${numberJSON(status.timeCost)}${end}`;
}

/** A status for the report; `base` is added to the record's times (0 when they are epoch ms already). */
function exportStatus(record: StatusRecord, now: number, base: number): IReport['workflowStatus'] {
  const terminated = TERMINAL.has(record.status);
  const startTime = base + record.startTime;
  const endTime = record.endTime === undefined ? undefined : base + record.endTime;
  const status: IReport['workflowStatus'] = {
    // Upstream's enum has no `waiting`: a task waiting for a signal is `processing` on the wire.
    status: (record.status === 'waiting' ? 'processing' : record.status) as IReport['workflowStatus']['status'],
    terminated,
    startTime,
    timeCost: startTime === 0 ? 0 : (endTime ?? now) - startTime,
  };
  if (endTime !== undefined) status.endTime = endTime;
  return status;
}
