import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DocumentNode } from '../schema/document.js';
import type { IJsonSchema, VariableType } from '../schema/types.js';
import { VariableScope, resolveNodeInputs, storeNodeOutputs } from './state.js';
import { copyValue, isTypeCompatible, parseConstant, typeOfValue } from './value-types.js';

/** JSON values without `undefined`/-0 quirks: what editors and task inputs carry. */
const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.parse(JSON.stringify(value)) as unknown);
const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);

/** Every path into a value (object keys and array indexes), with the value found there. */
function pathsOf(value: unknown, prefix: string[] = []): Array<[string[], unknown]> {
  const out: Array<[string[], unknown]> = [[prefix, value]];
  if (value !== null && typeof value === 'object') {
    for (const [k, child] of Object.entries(value)) out.push(...pathsOf(child, [...prefix, k]));
  }
  return out;
}

/** A node as the document builds it, with just what value resolution looks at. */
function nodeWith(id: string, inputs: IJsonSchema | undefined, inputsValues: DocumentNode['inputsValues'], outputs?: IJsonSchema): DocumentNode {
  return { id, type: 'echo', title: id, data: {}, snapshotData: {}, inputs, inputsValues, outputs } as unknown as DocumentNode;
}

describe('value resolution (property-based)', () => {
  it('a ref to [node, key, ...path] finds exactly what sits at that path of the stored value', () => {
    fc.assert(
      fc.property(key, key, jsonValue, (nodeID, name, value) => {
        const scope = new VariableScope();
        storeNodeOutputs(nodeWith(nodeID, undefined, undefined), { [name]: value }, scope);
        for (const [path, expected] of pathsOf(value)) {
          const resolved = scope.resolveRef([nodeID, name, ...path]);
          expect(resolved).not.toBeNull();
          expect(resolved?.value).toEqual(expected);
          expect(resolved?.type).toBe(typeOfValue(expected));
        }
      }),
    );
  });

  it('a ref that leaves the value resolves to null (never throws), and unknown nodes resolve to null', () => {
    fc.assert(
      fc.property(key, jsonValue, fc.array(key, { minLength: 1, maxLength: 4 }), (name, value, extra) => {
        const scope = new VariableScope();
        scope.set('n', name, { value, type: typeOfValue(value) as VariableType });
        const resolved = scope.resolveRef(['n', name, ...extra]);
        const [, expected] = pathsOf(value).find(([path]) => path.join('\u0000') === extra.join('\u0000')) ?? [undefined, null];
        expect(resolved?.value ?? null).toEqual(expected ?? null);
        expect(scope.resolveRef(['missing_node', name])).toBeNull();
      }),
    );
  });

  it('a child scope sees its parent; what it sets never leaks to the parent', () => {
    fc.assert(
      fc.property(key, jsonValue, jsonValue, (name, outer, inner) => {
        const parent = new VariableScope();
        parent.set('outer', name, { value: outer, type: 'object' });
        const child = parent.child();
        child.set('inner', name, { value: inner, type: 'object' });
        expect(child.resolveRef(['outer', name])?.value).toEqual(outer);
        expect(child.resolveRef(['inner', name])?.value).toEqual(inner);
        expect(parent.resolveRef(['inner', name])).toBeNull();
      }),
    );
  });

  it('templates: text without placeholders is unchanged; each placeholder renders its value, missing ones render empty', () => {
    // Braces next to a placeholder change what the (upstream-identical) pattern matches, so text has none.
    const text = fc.string().filter((s) => !s.includes('{') && !s.includes('}'));
    fc.assert(
      fc.property(text, text, key, fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(undefined)), (before, after, name, value) => {
        const scope = new VariableScope();
        expect(scope.renderTemplate(before)).toBe(before);
        if (value !== undefined) scope.set('n', name, { value, type: typeOfValue(value) as VariableType });
        const rendered = scope.renderTemplate(`${before}{{n.${name}}}${after}{{ghost.${name}}}`);
        expect(rendered).toBe(`${before}${value === undefined ? '' : String(value)}${after}`);
      }),
    );
  });

  it('object/array/map constants round-trip through the JSON text the editor stores', () => {
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(key, jsonValue), fc.array(jsonValue)), (value) => {
        const declared: VariableType = Array.isArray(value) ? 'array' : 'object';
        expect(parseConstant(JSON.stringify(value), declared)).toEqual(value);
        expect(parseConstant(JSON.stringify(value), 'map')).toEqual(value);
        // Other declarations take the text as it is.
        expect(parseConstant(JSON.stringify(value), 'string')).toBe(JSON.stringify(value));
      }),
    );
  });

  it('a node input is kept exactly when its value fits the declared type', () => {
    const types: VariableType[] = ['string', 'integer', 'number', 'boolean', 'object', 'array', 'map', 'date-time'];
    fc.assert(
      fc.property(jsonValue, fc.constantFrom(...types), (value, declared) => {
        const scope = new VariableScope();
        scope.set('src', 'v', { value, type: typeOfValue(value) as VariableType });
        const node = nodeWith('n', { type: 'object', properties: { v: { type: declared } } }, { v: { type: 'ref', content: ['src', 'v'] } });
        const inputs = resolveNodeInputs(node, scope);
        const fits = value !== null && isTypeCompatible(declared, typeOfValue(value) as VariableType);
        expect('v' in inputs).toBe(fits);
        if (fits) expect(inputs.v).toEqual(value);
      }),
    );
  });

  it('copyValue makes an equal copy that shares no object with the original', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const copy = copyValue(value);
        expect(copy).toEqual(value);
        const originals = new Set(pathsOf(value).map(([, v]) => v).filter((v) => v !== null && typeof v === 'object'));
        for (const [, v] of pathsOf(copy)) if (v !== null && typeof v === 'object') expect(originals.has(v)).toBe(false);
      }),
    );
  });
});
