import type { NodeExecutor } from '../engine/types.js';

/**
 * `wait`: pauses the task until someone answers (a person in the loop, or any external event). Its
 * inputs (a message or payload for whoever answers) are shown in its snapshot; it asks the engine to
 * wait for a signal (`runtime.signal`, `POST /api/task/signal`), whose data, checked against
 * `data.outputs`, become its outputs. `data.timeoutMs` bounds the wait; a timeout follows `onError`.
 */
export const waitExecutor: NodeExecutor = {
  type: 'wait',
  execute(context) {
    const timeoutMs = context.node.data.timeoutMs;
    return { outputs: {}, waitForSignal: typeof timeoutMs === 'number' ? { timeoutMs } : {} };
  },
};
