import type { NodeExecutor } from '../engine/types.js';

/** Outputs the task's inputs; the engine then keeps the keys the node declares, with their defaults. */
export const startExecutor: NodeExecutor = {
  type: 'start',
  execute: (context) => ({ outputs: context.workflowInputs }),
};
