/** The workflows the benchmark runs; built from the test fixtures' builders so they stay editor-shaped. */
import {
  blockEnd,
  blockStart,
  conditionNode,
  constant,
  continueNode,
  edge,
  endNode,
  input,
  loopNode,
  ref,
  startNode,
  template,
  workflow,
  type NodeSchema,
  type Schema,
} from '../../test/fixtures/workflow-builders.js';

/** start → c1 → … → cN → end; every condition checks `n > 0` and continues on its `if` port. */
export function conditionChain(length: number): Schema {
  const nodes = [startNode('start_0', { n: 'integer' })];
  const edges = [];
  let previous = 'start_0';
  let port: string | undefined;
  for (let i = 1; i <= length; i++) {
    const id = `condition_${i}`;
    nodes.push(conditionNode(id, [{ key: `if_${i}`, left: ref('start_0', 'n'), operator: 'gt', right: constant(0) }]));
    edges.push(edge(previous, id, port));
    previous = id;
    port = `if_${i}`;
  }
  nodes.push(endNode('end_0', { n: input('integer', ref('start_0', 'n')) }));
  edges.push(edge(previous, 'end_0', port));
  return workflow(nodes, edges);
}

/**
 * start → loop → end; each iteration runs block-start → condition (item ≥ 0) → block-end (or continue),
 * three nodes, and the loop collects the items.
 */
export function filterLoop(): Schema {
  const loop = loopNode('loop_0', {
    loopFor: ref('start_0', 'items'),
    blocks: [
      blockStart('block_start'),
      conditionNode('keep', [{ key: 'if_keep', left: ref('loop_0_locals', 'item'), operator: 'gte', right: constant(0) }]),
      blockEnd('block_end'),
      continueNode('skip'),
    ],
    edges: [edge('block_start', 'keep'), edge('keep', 'block_end', 'if_keep'), edge('keep', 'skip', 'else')],
    loopOutputs: { kept: ref('loop_0_locals', 'item') },
    outputs: { kept: { type: 'array', items: { type: 'integer' } } },
  });
  return workflow(
    [
      startNode('start_0', { items: { type: 'array', items: { type: 'integer' } } }),
      loop,
      endNode('end_0', { count: input({ type: 'array', items: { type: 'integer' } }, ref('loop_0', 'kept')) }),
    ],
    [edge('start_0', 'loop_0'), edge('loop_0', 'end_0')],
  );
}

/** A typical small workflow: start → three conditions → end with a template (inputs take every `if`). */
export function smallWorkflow(): Schema {
  return workflow(
    [
      startNode('start_0', { name: 'string', count: 'integer' }, ['name']),
      conditionNode('has_name', [{ key: 'if_name', left: ref('start_0', 'name'), operator: 'neq', right: constant('') }]),
      conditionNode('big', [{ key: 'if_big', left: ref('start_0', 'count'), operator: 'gt', right: constant(10) }]),
      conditionNode('named', [{ key: 'if_named', left: ref('start_0', 'name'), operator: 'contains', right: constant('a') }]),
      endNode('end_0', { greeting: input('string', template('hello {{start_0.name}} ({{start_0.count}})')) }),
    ],
    [edge('start_0', 'has_name'), edge('has_name', 'big', 'if_name'), edge('big', 'named', 'if_big'), edge('named', 'end_0', 'if_named')],
  );
}

/** A code node reading `value` (a ref) and returning `{ value }` from `script`. */
function codeNode(id: string, value: ReturnType<typeof ref>, script: string, language: string): NodeSchema {
  return {
    id,
    type: 'code',
    meta: { position: { x: 0, y: 0 } },
    data: {
      title: id,
      inputs: { type: 'object', properties: { value: { type: 'number' } } },
      inputsValues: { value },
      outputs: { type: 'object', properties: { value: { type: 'number' } } },
      script: { language, content: script },
    },
  };
}

/** start → code_1 → … → code_N → end; each code node runs `script` on the previous node's value. */
export function codeChain(length: number, script: string, language = 'javascript'): Schema {
  const nodes = [startNode('start_0', { value: 'number' })];
  const edges = [];
  let previous = 'start_0';
  for (let i = 1; i <= length; i++) {
    nodes.push(codeNode(`code_${i}`, ref(previous, 'value'), script, language));
    edges.push(edge(previous, `code_${i}`));
    previous = `code_${i}`;
  }
  nodes.push(endNode('end_0', { value: input('number', ref(previous, 'value')) }));
  edges.push(edge(previous, 'end_0'));
  return workflow(nodes, edges);
}

/** start → loop over `items` (block-start → one code node running `script` on the item → block-end) → end. */
export function codeLoop(script: string, language = 'javascript'): Schema {
  const loop = loopNode('loop_0', {
    loopFor: ref('start_0', 'items'),
    blocks: [blockStart('block_start'), codeNode('code_1', ref('loop_0_locals', 'item'), script, language), blockEnd('block_end')],
    edges: [edge('block_start', 'code_1'), edge('code_1', 'block_end')],
    loopOutputs: { values: ref('code_1', 'value') },
    outputs: { values: { type: 'array', items: { type: 'number' } } },
  });
  return workflow(
    [
      startNode('start_0', { items: { type: 'array', items: { type: 'number' } } }),
      loop,
      endNode('end_0', { values: input({ type: 'array', items: { type: 'number' } }, ref('loop_0', 'values')) }),
    ],
    [edge('start_0', 'loop_0'), edge('loop_0', 'end_0')],
  );
}
