import type { ExecutionResult, NodeExecutor } from '../engine/types.js';

// One frozen result for every run: the engine only reads results, and loops run this node a lot.
const RESULT: ExecutionResult = Object.freeze({ outputs: Object.freeze({}), control: 'continue' });

/** Skips the rest of the current iteration: its loop outputs are not collected. */
export const continueExecutor: NodeExecutor = {
  type: 'continue',
  execute: () => RESULT,
};
