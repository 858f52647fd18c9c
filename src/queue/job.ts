import type { WorkflowInputs, WorkflowOutputs } from '../schema/types.js';

/** What travels through the queue: everything a worker needs to run the task anywhere. */
export interface TaskJob {
  taskID: string;
  /** The workflow schema as JSON text. */
  schema: string;
  inputs: WorkflowInputs;
  /** Continue the failed or cancelled task from its report in the store (`resume`); `inputs` replace the task's. */
  resume?: { inputs?: WorkflowInputs };
  /** A new task re-running `of` from `fromNodeID` (`rerun`): `of`'s outputs of the nodes before it are reused; `inputsChanged` runs the start node again. */
  rerun?: { of: string; fromNodeID: string; inputsChanged: boolean };
  /** Continue the task that waited for a signal (the store has it `processing` again, claimed): answer `nodeID` with `data`. */
  signal?: { nodeID: string; data: WorkflowOutputs };
  /** Cancel the task that waited for a signal (claimed, as for `signal`), with this reason. */
  cancelWaiting?: string;
  /** Time out the wait of this node of the task that waited for a signal (claimed, as for `signal`): its deadline passed. */
  timeout?: { nodeID: string };
  /**
   * With `signal`, `cancelWaiting` or `timeout`: the owner the wait is claimed with in the store. The job
   * is queued (delayed) before that claim (see `handOffWaitingTask`), so a sender that dies in between
   * leaves it to a worker, which continues the task if the claim is this one, or makes it (the wait is still unclaimed).
   */
  claim?: string;
}

/** A cancel request, published on the cancel channel. */
export interface CancelMessage {
  taskID: string;
  reason: string;
}
