import type { NodeExecutor, ResolvedValue } from '../engine/types.js';
import { typeOfValue } from '../engine/value-types.js';
import { measureJson } from '../json-bounds.js';
import { DEFAULT_LIMITS, limitExceeded } from '../limits.js';
import type { IFlowValue, VariableType } from '../schema/types.js';

interface LoopData {
  loopFor?: IFlowValue;
  loopOutputs?: Record<string, IFlowValue>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

/** What one iteration sees as `<loopID>_locals`: the entry's key (objects only), item and index. */
function iterationLocals(item: unknown, itemType: VariableType, index: number, key: string | undefined): Record<string, ResolvedValue> {
  const locals: Record<string, ResolvedValue> = {
    item: { value: item, type: itemType },
    index: { value: index, type: 'number' },
  };
  if (key !== undefined) locals.key = { value: key, type: 'string' };
  return locals;
}

/**
 * Runs the node's block once per item of `loopFor`, in order, with `<loopID>_locals.item` and `.index`
 * (an object is iterated entry by entry in key order, with `.key` too), and collects each `loopOutputs`
 * ref into an array. `break` ends the loop, `continue` drops the iteration's outputs.
 */
export const loopExecutor: NodeExecutor = {
  type: 'loop',
  async execute(context) {
    const { loopFor, loopOutputs = {} } = context.node.data as LoopData;
    if (!loopFor || loopFor.type !== 'ref') {
      throw new Error('Loop "loopFor" is required and must reference an array or object variable');
    }
    const resolved = context.values.resolveRef(loopFor.content);
    if (!resolved || resolved.value === null || resolved.value === undefined) {
      throw new Error(`Loop "loopFor" is required: ${JSON.stringify(loopFor.content ?? [])} has no value`);
    }
    const iterable = resolved.value;
    if (typeof iterable !== 'object') {
      throw new Error(`Loop "loopFor" must be an array or object, got ${describe(iterable)}`);
    }
    const isArray = Array.isArray(iterable);
    const keys = isArray ? undefined : Object.keys(iterable);
    const items: readonly unknown[] = isArray ? iterable : (keys as string[]).map((key) => (iterable as Record<string, unknown>)[key]);
    // An array's declared item type holds for every item; an object's values are typed one by one.
    const declaredItemType = isArray ? resolved.itemsType : undefined;
    // One progress event per loop run (not per iteration): watchers show `[3/20]`.
    context.progress({ iterations: items.length });
    const outputNames = Object.keys(loopOutputs);
    const collected: Record<string, unknown[]> = {};
    for (const name of outputNames) collected[name] = [];
    // The collected arrays are the loop's outputs: bounded while they grow, not only once the loop ends
    // (an iteration's outputs are small, many iterations' are not).
    const maxBytes = context.limits.maxValueBytes ?? DEFAULT_LIMITS.maxValueBytes;
    let collectedBytes = 0;
    const collect = (outputs: Record<string, unknown>, index: number): void => {
      for (const name of outputNames) {
        // Each item adds its JSON and a comma to its array.
        collectedBytes += measureJson(outputs[name], Number.POSITIVE_INFINITY, maxBytes - collectedBytes).bytes + 1;
        if (collectedBytes > maxBytes) {
          const detail = `the outputs of node "${context.node.id}" would be larger than ${maxBytes} characters of JSON (at iteration ${index + 1})`;
          throw limitExceeded('maxValueBytes', detail, context.node.id);
        }
      }
      for (const name of outputNames) collected[name].push(outputs[name]);
    };
    // A resumed task continues after the iterations its earlier run finished.
    const done = context.finishedIterations;
    for (const [index, iteration] of done.entries()) {
      if (iteration.control === 'break') return { outputs: collected };
      if (iteration.control === 'continue') continue;
      collect(Object.fromEntries(outputNames.map((name) => [name, iteration.outputs[name] ?? null])), index);
    }
    for (let index = done.length; index < items.length; index++) {
      if (context.signal.aborted) throw context.signal.reason;
      const item = items[index];
      const itemType = declaredItemType ?? typeOfValue(item) ?? 'null';
      const run = await context.runBlock(iterationLocals(item, itemType, index, keys?.[index]));
      if (run.control !== 'next') {
        context.iterationFinished({ index, control: run.control, outputs: {} });
        if (run.control === 'break') break;
        continue;
      }
      const outputs: Record<string, unknown> = {};
      for (const name of outputNames) {
        const ref = loopOutputs[name];
        const value = ref?.type === 'ref' ? run.values.resolveRef(ref.content) : run.values.resolve(ref);
        outputs[name] = value?.value ?? null;
      }
      collect(outputs, index);
      context.iterationFinished({ index, control: 'next', outputs });
    }
    return { outputs: collected };
  },
};
