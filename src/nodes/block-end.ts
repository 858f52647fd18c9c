import type { ExecutionResult, NodeExecutor } from '../engine/types.js';

// One frozen result for every run: the engine only reads results, and loops run this node a lot.
const RESULT: ExecutionResult = Object.freeze({ outputs: Object.freeze({}) });

/** Marks where a loop body ends; does nothing itself. */
export const blockEndExecutor: NodeExecutor = {
  type: 'block-end',
  execute: () => RESULT,
};
