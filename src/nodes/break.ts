import type { ExecutionResult, NodeExecutor } from '../engine/types.js';

// One frozen result for every run: the engine only reads results, and loops run this node a lot.
const RESULT: ExecutionResult = Object.freeze({ outputs: Object.freeze({}), control: 'break' });

/** Ends the whole loop once the current iteration's running branches settle. */
export const breakExecutor: NodeExecutor = {
  type: 'break',
  execute: () => RESULT,
};
