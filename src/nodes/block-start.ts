import type { NodeExecutor } from '../engine/types.js';

/** Marks where a loop body begins; does nothing itself. */
export const blockStartExecutor: NodeExecutor = {
  type: 'block-start',
  execute: () => ({ outputs: {} }),
};
