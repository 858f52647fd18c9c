import type { NodeExecutor } from '../engine/types.js';

/** Ends the whole loop once the current iteration's running branches settle. */
export const breakExecutor: NodeExecutor = {
  type: 'break',
  execute: () => ({ outputs: {}, control: 'break' }),
};
