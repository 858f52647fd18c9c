import { ErrorCodes, FlowgramError } from '../errors.js';
import { measureJson } from '../json-bounds.js';
import { limitExceeded } from '../limits.js';
import type { DocumentNode } from '../schema/document.js';
import { splitTemplate, type TemplateParts } from '../schema/template.js';
import type { IFlowValue, IJsonSchema, VariableType, WorkflowInputs, WorkflowOutputs } from '../schema/types.js';
import type { ResolvedValue, ValueResolver } from './types.js';
import { isTypeCompatible, parseConstant, typeOfValue } from './value-types.js';

interface Variable {
  value: unknown;
  type: VariableType;
  itemsType?: VariableType;
}


/**
 * The variables visible to a node: node outputs, `global`, and loop locals (`<loopID>_locals`).
 * A loop iteration gets a child scope, so its outputs vanish with it while outer ones stay visible.
 */
export class VariableScope implements ValueResolver {
  // Created on first `set`: a loop iteration's scope often holds nothing but its locals.
  private variables: Map<string, Map<string, Variable>> | undefined;
  private localsID: string | undefined;
  private locals: Readonly<Record<string, Variable>> | undefined;

  /**
   * @param maxValueBytes the longest text a template may render (`maxValueBytes`); values in scope were
   *   checked for depth when they were stored, so rendering them as JSON is safe.
   */
  constructor(
    private readonly parent?: VariableScope,
    private readonly maxValueBytes = Number.POSITIVE_INFINITY,
  ) {}

  child(): VariableScope {
    return new VariableScope(this, this.maxValueBytes);
  }

  set(nodeID: string, key: string, variable: Variable): void {
    this.variables ??= new Map();
    let node = this.variables.get(nodeID);
    if (!node) {
      node = new Map();
      this.variables.set(nodeID, node);
    }
    node.set(key, variable);
  }

  /** A loop iteration's locals (`<loopID>_locals`), kept as given: no copy, no map per iteration. */
  setLocals(localsID: string, locals: Readonly<Record<string, Variable>>): void {
    this.localsID = localsID;
    this.locals = locals;
  }

  private lookup(nodeID: string, key: string): Variable | undefined {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walking the scope chain
    let scope: VariableScope | undefined = this;
    while (scope) {
      if (scope.localsID === nodeID) {
        const locals = scope.locals as Readonly<Record<string, Variable>>;
        return Object.prototype.hasOwnProperty.call(locals, key) ? locals[key] : undefined;
      }
      const node = scope.variables?.get(nodeID);
      if (node) return node.get(key);
      scope = scope.parent;
    }
    return undefined;
  }

  resolveRef(path: readonly string[] | undefined): ResolvedValue | null {
    if (!Array.isArray(path) || path.length < 2) return null;
    const variable = this.lookup(path[0], path[1]);
    if (!variable) return null;
    if (path.length === 2) return variable;
    let value: unknown = variable.value;
    for (let i = 2; i < path.length && value !== undefined && value !== null; i++) {
      value = (value as Record<string, unknown>)[path[i]];
    }
    const type = typeOfValue(value);
    if (!type) return null;
    if (type === 'array') {
      const itemsType = typeOfValue((value as unknown[])[0]);
      return itemsType ? { value, type, itemsType } : null;
    }
    return { value, type };
  }

  /** Each piece's length is known before it is appended (and an object's before its JSON is built): the text never outgrows `maxValueBytes`. */
  renderTemplate(template: string): string {
    const parts = parseTemplate(template);
    const max = this.maxValueBytes;
    let out = parts[0] as string;
    for (let i = 1; i < parts.length; i += 2) {
      const resolved = this.resolveRef(parts[i] as string[]);
      const text = resolved ? renderValue(resolved.value, max - out.length) : '';
      const tail = parts[i + 1] as string;
      if (text === undefined || out.length + text.length + tail.length > max) {
        throw limitExceeded('maxValueBytes', `the template would render more than ${max} characters (at {{${(parts[i] as string[]).join('.')}}})`);
      }
      out += text + tail;
    }
    return out;
  }

  resolve(flowValue: IFlowValue | undefined, declaredType?: VariableType): ResolvedValue | null {
    if (!flowValue || typeof flowValue !== 'object') return null;
    switch (flowValue.type) {
      case 'constant': {
        const value = parseConstant(flowValue.content, declaredType);
        if (value === null || value === undefined) return null;
        const type = declaredType ?? typeOfValue(value);
        return type ? { value, type } : null;
      }
      case 'ref':
        return this.resolveRef(flowValue.content);
      case 'template':
        return typeof flowValue.content === 'string' && flowValue.content !== ''
          ? { value: this.renderTemplate(flowValue.content), type: 'string' }
          : null;
      case 'expression':
        throw new FlowgramError(ErrorCodes.UNSUPPORTED_VALUE, 'expression values are not supported by this runtime');
      default:
        throw new FlowgramError(
          ErrorCodes.UNSUPPORTED_VALUE,
          `unknown flow value type "${String((flowValue as { type?: unknown }).type)}"`,
        );
    }
  }
}

const MAX_CACHED_TEMPLATES = 1_000;
const parsedTemplates = new Map<string, TemplateParts>();

/** Splits a template at its `{{node.key.path}}` placeholders once; templates repeat (loops, many tasks). */
function parseTemplate(template: string): TemplateParts {
  let parts = parsedTemplates.get(template);
  if (parts) return parts;
  parts = splitTemplate(template);
  if (parsedTemplates.size >= MAX_CACHED_TEMPLATES) parsedTemplates.delete(parsedTemplates.keys().next().value as string);
  parsedTemplates.set(template, parts);
  return parts;
}

/** A value as template text; undefined when its JSON would be longer than `room`. */
function renderValue(value: unknown, room: number): string | undefined {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') {
    if (measureJson(value, Number.POSITIVE_INFINITY, room).exceeded) return undefined;
    return JSON.stringify(value);
  }
  return String(value);
}

/**
 * A node's inputs: each `inputsValues` entry that has a declaration in `inputs.properties`, resolved and
 * kept when its type fits the declaration (as upstream does).
 */
export function resolveNodeInputs(node: DocumentNode, scope: VariableScope): WorkflowInputs {
  const values = node.inputsValues;
  const properties = node.inputs?.properties;
  const inputs: WorkflowInputs = {};
  if (!values || !properties) return inputs;
  for (const key in values) {
    const declaration = properties[key];
    if (!declaration) continue;
    const declaredType = declaration.type as VariableType;
    let resolved: ResolvedValue | null;
    try {
      resolved = scope.resolve(values[key], declaredType);
    } catch (error) {
      if (error instanceof FlowgramError) {
        const limit = error.limit === undefined ? {} : { limit: error.limit };
        throw new FlowgramError(error.code, `node "${node.id}" input "${key}": ${error.message}`, { nodeID: node.id, ...limit });
      }
      throw error;
    }
    if (resolved && isTypeCompatible(declaredType, resolved.type)) inputs[key] = resolved.value;
  }
  return inputs;
}

/**
 * Stores a node's outputs so later nodes can ref them: declared keys with their declared types (falling
 * back to declared defaults), then undeclared keys with inferred types (upstream drops those, which
 * leaves refs to e.g. a loop's collected outputs dangling when the editor declared nothing).
 */
export function storeNodeOutputs(node: DocumentNode, outputs: WorkflowOutputs, scope: VariableScope): void {
  const properties = storeDeclared(node.id, node.outputs, outputs, scope);
  for (const key in outputs) {
    if (properties?.[key]) continue;
    const value = outputs[key];
    const type = typeOfValue(value);
    if (!type) continue;
    if (type === 'array') {
      const itemsType = typeOfValue((value as unknown[])[0]);
      scope.set(node.id, key, itemsType ? { value, type, itemsType } : { value, type });
    } else {
      scope.set(node.id, key, { value, type });
    }
  }
}

/** Declares `global` variables with their defaults. */
export function storeGlobals(declaration: IJsonSchema | undefined, scope: VariableScope): void {
  storeDeclared('global', declaration, {}, scope);
}

function storeDeclared(
  ownerID: string,
  declaration: IJsonSchema | undefined,
  values: Record<string, unknown>,
  scope: VariableScope,
): IJsonSchema['properties'] {
  if (!declaration || declaration.type !== 'object' || !declaration.properties) return undefined;
  for (const key in declaration.properties) {
    const property = declaration.properties[key];
    if (!key || !property) continue;
    const type = property.type as VariableType;
    const value = values[key] ?? parseConstant(property.default, type);
    const itemsType = property.items?.type as VariableType | undefined;
    scope.set(ownerID, key, itemsType === undefined ? { value, type } : { value, type, itemsType });
  }
  return declaration.properties;
}
