import type { NodeExecutor } from '../engine/types.js';

/** Marks where a loop body ends; does nothing itself. */
export const blockEndExecutor: NodeExecutor = {
  type: 'block-end',
  execute: () => ({ outputs: {} }),
};
