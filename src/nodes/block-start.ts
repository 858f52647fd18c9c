import type { ExecutionResult, NodeExecutor } from '../engine/types.js';

// One frozen result for every run: the engine only reads results, and loops run this node a lot.
const RESULT: ExecutionResult = Object.freeze({ outputs: Object.freeze({}) });

/** Marks where a loop body begins; does nothing itself. */
export const blockStartExecutor: NodeExecutor = {
  type: 'block-start',
  execute: () => RESULT,
};
