import type { WorkflowDocument } from '../schema/document.js';
import type { IFlowValue, WorkflowInputs } from '../schema/types.js';
import { splitTemplate } from '../schema/template.js';
import { credentialEntries } from '../secrets/credentials.js';
import type { TaskRecorder } from './recorder.js';
import { VariableScope, storeGlobals } from './state.js';
import type { NodeExecutor } from './types.js';

/** Per document: the flow values that feed secrets (documents are compiled per runtime, with its executors). */
const sourcesByDocument = new WeakMap<WorkflowDocument, readonly IFlowValue[]>();

function secretSources(document: WorkflowDocument, executors: ReadonlyMap<string, NodeExecutor>): readonly IFlowValue[] {
  let sources = sourcesByDocument.get(document);
  if (!sources) {
    const found: IFlowValue[] = [];
    for (const node of document.nodes.values()) {
      for (const key of executors.get(node.type)?.secretInputs ?? []) {
        const value = node.inputsValues?.[key];
        if (value) found.push(value);
      }
      for (const [, , value] of credentialEntries(node.type, node.data)) if (isFlowValue(value)) found.push(value);
    }
    sources = found;
    sourcesByDocument.set(document, sources);
  }
  return sources;
}

function isFlowValue(value: unknown): value is IFlowValue {
  return value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';
}

/**
 * Registers, when the task is accepted, the secrets that are knowable up front: constants, globals and
 * task inputs fed into secret inputs (e.g. an LLM `apiKey` taken from the start node) and into
 * credential-named HTTP headers and query parameters. Otherwise the
 * stored task and the start node's events would carry the key before the LLM node could mask it.
 * Secrets computed by other nodes are registered when their node runs.
 */
export function registerKnownSecrets(
  document: WorkflowDocument,
  executors: ReadonlyMap<string, NodeExecutor>,
  inputs: WorkflowInputs,
  recorder: TaskRecorder,
  only?: { readonly nodeID: string; readonly inputs?: WorkflowInputs },
): void {
  // runNode with inputs typed into the node's form: its secret inputs among them (and in the task's inputs).
  const tested = only?.inputs === undefined ? undefined : document.nodes.get(only.nodeID);
  if (tested && only?.inputs) for (const key of executors.get(tested.type)?.secretInputs ?? []) recorder.addSecret(only.inputs[key]);
  const sources = secretSources(document, executors);
  if (sources.length === 0) return;
  const scope = new VariableScope();
  storeGlobals(document.globalVariable, scope);
  // Task inputs are masked wherever they appear, starting with the report's own `inputs`.
  const startID = document.start?.id;
  const taskInput = (path: readonly string[]): unknown => {
    let current: unknown = inputs;
    for (const part of path.slice(1)) current = (current as Record<string, unknown> | undefined)?.[part];
    return current;
  };
  for (const value of sources) {
    if (value.type === 'ref' && Array.isArray(value.content) && value.content[0] === startID) {
      recorder.addSecret(taskInput(value.content));
    } else if (value.type === 'template' && typeof value.content === 'string') {
      // e.g. an Authorization header 'Bearer {{start_0.token}}': the task input is the secret.
      for (const part of splitTemplate(value.content)) if (Array.isArray(part) && part[0] === startID) recorder.addSecret(taskInput(part));
    } else if (value.type === 'constant' || (value.type === 'ref' && value.content?.[0] === 'global')) {
      recorder.addSecret(scope.resolve(value)?.value);
    }
  }
}
