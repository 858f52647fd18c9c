import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDocument } from './document.js';
import type { WorkflowSchema } from './types.js';
import { checkSchema } from './check-schema.js';
import { validateSchemaStructure } from './validate-schema.js';

const id = fc.constantFrom('start_0', 'end_0', 'a', 'b', 'loop_0', 'bs', 'be', '', 'constructor', '__proto__');
const type = fc.constantFrom('start', 'end', 'loop', 'block-start', 'block-end', 'condition', 'echo', '', 'comment');
const edge = fc.record(
  { sourceNodeID: fc.oneof(id, fc.anything()), targetNodeID: fc.oneof(id, fc.anything()), sourcePortID: fc.oneof(fc.string(), fc.constant(undefined)) },
  { requiredKeys: [] },
);
const flowValue = fc.oneof(
  fc.record({ type: fc.constant('ref'), content: fc.oneof(fc.array(fc.oneof(id, fc.constantFrom('loop_0_locals', 'global', 'item')), { maxLength: 3 }), fc.anything()) }),
  fc.record({ type: fc.constant('template'), content: fc.oneof(fc.constantFrom('{{a.b}}', '{{loop_0_locals.item}}', '{{}}', '{{ x }}'), fc.string()) }),
  fc.record({ type: fc.constant('constant'), content: fc.anything() }),
);
const node: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record(
      {
        id: fc.oneof(id, fc.anything()),
        type: fc.oneof(type, fc.anything()),
        meta: fc.oneof(fc.constant({ position: { x: 0, y: 0 } }), fc.anything()),
        data: fc.oneof(
          fc.constant({}),
          fc.dictionary(fc.constantFrom('inputs', 'outputs', 'inputsValues', 'title', 'loopFor', 'loopOutputs'), fc.oneof(flowValue, fc.dictionary(fc.string(), flowValue), fc.anything())),
        ),
        blocks: fc.array(tie('node'), { maxLength: 3 }),
        edges: fc.array(edge, { maxLength: 3 }),
      },
      { requiredKeys: ['id', 'type'] },
    ),
    fc.anything(),
  ),
})).node;
const schema = fc.oneof(
  fc.record({ nodes: fc.array(node, { maxLength: 6 }), edges: fc.array(edge, { maxLength: 6 }) }, { requiredKeys: [] }),
  fc.anything(),
);

describe('validateSchemaStructure (property-based)', () => {
  it('never throws, whatever it is given, and every issue has a code, a path and a message', () => {
    fc.assert(
      fc.property(schema, (candidate) => {
        const issues = validateSchemaStructure(candidate, new Set(['start', 'end', 'loop', 'block-start', 'block-end', 'condition', 'echo']));
        for (const issue of issues) {
          expect(typeof issue.code).toBe('string');
          expect(typeof issue.path).toBe('string');
          expect(issue.message.startsWith(issue.path)).toBe(true);
        }
        // What passes validation can always be built into a runnable document.
        if (issues.length === 0) expect(() => buildDocument(candidate as WorkflowSchema)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('the full check (declarations, refs, constants) never throws either, and every issue starts with its path', () => {
    fc.assert(
      fc.property(schema, (candidate) => {
        const { issues, warnings } = checkSchema(candidate, new Set(['start', 'end', 'loop', 'block-start', 'block-end', 'condition', 'echo']));
        for (const issue of [...issues, ...warnings]) expect(issue.message.startsWith(issue.path)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
