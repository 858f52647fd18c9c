import type { NodeExecutor } from '../engine/types.js';

/** Its inputs become the workflow's outputs (the engine takes them from the document's end node). */
export const endExecutor: NodeExecutor = {
  type: 'end',
  execute: (context) => ({ outputs: context.inputs }),
};
