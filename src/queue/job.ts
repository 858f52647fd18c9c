import type { WorkflowInputs } from '../schema/types.js';

/** What travels through the queue: everything a worker needs to run the task anywhere. */
export interface TaskJob {
  taskID: string;
  /** The workflow schema as JSON text. */
  schema: string;
  inputs: WorkflowInputs;
  /** Continue the failed or cancelled task from its report in the store (`resume`); `inputs` replace the task's. */
  resume?: { inputs?: WorkflowInputs };
}

/** A cancel request, published on the cancel channel. */
export interface CancelMessage {
  taskID: string;
  reason: string;
}
