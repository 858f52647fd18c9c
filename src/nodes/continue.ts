import type { NodeExecutor } from '../engine/types.js';

/** Skips the rest of the current iteration: its loop outputs are not collected. */
export const continueExecutor: NodeExecutor = {
  type: 'continue',
  execute: () => ({ outputs: {}, control: 'continue' }),
};
