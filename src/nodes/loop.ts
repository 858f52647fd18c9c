import type { NodeExecutor, ResolvedValue } from '../engine/types.js';
import { typeOfValue } from '../engine/value-types.js';
import type { IFlowValue } from '../schema/types.js';

interface LoopData {
  loopFor?: IFlowValue;
  loopOutputs?: Record<string, IFlowValue>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Runs the node's block once per item of `loopFor`, in order, with `<loopID>_locals.item` and `.index`,
 * and collects each `loopOutputs` ref into an array. `break` ends the loop, `continue` drops the
 * iteration's outputs.
 */
export const loopExecutor: NodeExecutor = {
  type: 'loop',
  async execute(context) {
    const { loopFor, loopOutputs = {} } = context.node.data as LoopData;
    if (!loopFor || loopFor.type !== 'ref') {
      throw new Error('loop "loopFor" is required and must reference an array variable');
    }
    const resolved = context.values.resolveRef(loopFor.content);
    if (!resolved || resolved.value === null || resolved.value === undefined) {
      throw new Error(`loop "loopFor" is required: ${JSON.stringify(loopFor.content ?? [])} has no value`);
    }
    if (!Array.isArray(resolved.value)) {
      throw new Error(`loop "loopFor" must be an array, got ${describe(resolved.value)}`);
    }
    const items = resolved.value as unknown[];
    const outputNames = Object.keys(loopOutputs);
    const collected: Record<string, unknown[]> = {};
    for (const name of outputNames) collected[name] = [];
    for (let index = 0; index < items.length; index++) {
      if (context.signal.aborted) throw context.signal.reason;
      const item = items[index];
      const itemType = resolved.itemsType ?? typeOfValue(item) ?? 'null';
      const locals: Record<string, ResolvedValue> = {
        item: { value: item, type: itemType },
        index: { value: index, type: 'number' },
      };
      const run = await context.runBlock(locals);
      if (run.control === 'break') break;
      if (run.control === 'continue') continue;
      for (const name of outputNames) {
        const ref = loopOutputs[name];
        const value = ref?.type === 'ref' ? run.values.resolveRef(ref.content) : run.values.resolve(ref);
        collected[name].push(value ? value.value : null);
      }
    }
    return { outputs: collected };
  },
};
