import type { DocumentNode, WorkflowDocument } from '../schema/document.js';
import type { WorkflowInputs } from '../schema/types.js';
import type { TaskRecorder } from './recorder.js';
import { VariableScope, storeGlobals } from './state.js';
import type { NodeExecutor } from './types.js';

interface SecretSource {
  node: DocumentNode;
  key: string;
}

/** Per document: which node inputs are secrets (documents are compiled per runtime, with its executors). */
const sourcesByDocument = new WeakMap<WorkflowDocument, readonly SecretSource[]>();

function secretSources(document: WorkflowDocument, executors: ReadonlyMap<string, NodeExecutor>): readonly SecretSource[] {
  let sources = sourcesByDocument.get(document);
  if (!sources) {
    const found: SecretSource[] = [];
    for (const node of document.nodes.values()) {
      for (const key of executors.get(node.type)?.secretInputs ?? []) {
        if (node.inputsValues?.[key]) found.push({ node, key });
      }
    }
    sources = found;
    sourcesByDocument.set(document, sources);
  }
  return sources;
}

/**
 * Registers, when the task is accepted, the secrets that are knowable up front: constants, globals and
 * task inputs fed into secret inputs (e.g. an LLM `apiKey` taken from the start node). Otherwise the
 * stored task and the start node's events would carry the key before the LLM node could mask it.
 * Secrets computed by other nodes are registered when their node runs.
 */
export function registerKnownSecrets(
  document: WorkflowDocument,
  executors: ReadonlyMap<string, NodeExecutor>,
  inputs: WorkflowInputs,
  recorder: TaskRecorder,
): void {
  const sources = secretSources(document, executors);
  if (sources.length === 0) return;
  const scope = new VariableScope();
  storeGlobals(document.globalVariable, scope);
  // Task inputs are masked wherever they appear, starting with the report's own `inputs`.
  const startID = document.start?.id;
  for (const { node, key } of sources) {
    const value = node.inputsValues?.[key];
    if (!value) continue;
    if (value.type === 'ref' && Array.isArray(value.content) && value.content[0] === startID) {
      let current: unknown = inputs;
      for (const part of value.content.slice(1)) current = (current as Record<string, unknown> | undefined)?.[part];
      recorder.addSecret(current);
    } else if (value.type === 'constant' || (value.type === 'ref' && value.content?.[0] === 'global')) {
      recorder.addSecret(scope.resolve(value)?.value);
    }
  }
}
