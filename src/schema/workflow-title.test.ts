import { describe, expect, it } from 'vitest';
import { MAX_TITLE_LENGTH, workflowTitle } from './workflow-title.js';

describe('workflowTitle', () => {
  it('prefers an explicit title, then name', () => {
    expect(workflowTitle({ title: ' Orders ', name: 'x', nodes: [] })).toBe('Orders');
    expect(workflowTitle({ name: 'Nightly', nodes: [] })).toBe('Nightly');
  });

  it('falls back to the top-level node titles (numbers and IDs included)', () => {
    const schema = { nodes: [{ id: 'start_0', data: { title: 'Start' } }, { id: 'n', data: { title: 42 } }, { id: 'end_0', data: {} }] };
    expect(workflowTitle(schema)).toBe('Start → 42 → end_0');
  });

  it('is empty for what is not a schema, and bounded for a huge one', () => {
    expect(workflowTitle('nope')).toBe('');
    expect(workflowTitle(null)).toBe('');
    const nodes = Array.from({ length: 1_000 }, (_, i) => ({ id: `node_${i}`, data: { title: 'x'.repeat(50) } }));
    expect(workflowTitle({ nodes }).length).toBeLessThanOrEqual(MAX_TITLE_LENGTH);
  });
});
