import type { Runtime } from '../runtime.js';
import type { FlowgramMetrics } from './metrics.js';

/** The same runtime, with every task `start()` creates counted by `metrics` (what a server's routes call). */
export function observeRuntime(runtime: Runtime, metrics: FlowgramMetrics): Runtime {
  return {
    ...runtime,
    start(schema, inputs, options) {
      const task = runtime.start(schema, inputs, options);
      metrics.observe(task);
      return task;
    },
  };
}
