import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../engine/types.js';
import { loopLayout, plainProgress, ttyProgress } from './progress.js';

const taskID = 't';
const events: TaskEvent[] = [
  { type: 'workflow_started', taskID, time: 0 },
  { type: 'node_started', taskID, nodeID: 'start_0', nodeType: 'start', title: 'Start', time: 0 },
  { type: 'node_finished', taskID, nodeID: 'start_0', nodeType: 'start', title: 'Start', status: 'succeeded', time: 1, timeCost: 1 },
  { type: 'node_started', taskID, nodeID: 'bs', nodeType: 'block-start', title: 'bs', time: 1 },
  { type: 'node_finished', taskID, nodeID: 'bs', nodeType: 'block-start', title: 'bs', status: 'succeeded', time: 1, timeCost: 0 },
  { type: 'node_started', taskID, nodeID: 'LLM_1', nodeType: 'llm', title: 'LLM_1', time: 1 },
  { type: 'node_finished', taskID, nodeID: 'LLM_1', nodeType: 'llm', title: 'LLM_1', status: 'failed', time: 121, timeCost: 120, error: 'rate limited' },
  {
    type: 'workflow_finished',
    taskID,
    status: 'failed',
    time: 121,
    timeCost: 121,
    outputs: {},
    error: { code: 'FLOWGRAM_ERR_NODE_FAILED', message: 'rate limited', nodeID: 'LLM_1' },
  },
];

function capture(isTTY: boolean): { out: { write(text: string): boolean; isTTY: boolean }; text: () => string } {
  let text = '';
  return {
    out: {
      isTTY,
      write(chunk: string) {
        text += chunk;
        return true;
      },
    },
    text: () => text,
  };
}

describe('plainProgress', () => {
  it('writes one line per finished node (plumbing nodes hidden) and one for the workflow', () => {
    const { out, text } = capture(false);
    const progress = plainProgress(out);
    for (const event of events) progress.onEvent(event);
    progress.stop();
    // The failure's reason is not repeated here: the run prints it once, in its own line.
    expect(text()).toBe('✔ Start (start) 1 ms\n✖ LLM_1 (llm) 120 ms\n✖ workflow failed in 121 ms\n');
  });
});

describe('ttyProgress', () => {
  it('draws a spinner line per running node, redrawn in place, ending with the finished lines', () => {
    const { out, text } = capture(true);
    const progress = ttyProgress(out, false);
    for (const event of events) progress.onEvent(event);
    progress.stop();
    const written = text();
    // A running node gets a spinner line, which is erased (cursor up + clear) when redrawn.
    expect(written).toMatch(/⠋ Start \(start\) \d+ ms\n/);
    expect(written).toContain('\x1b[1A\r\x1b[0J');
    // What remains on screen once everything is drawn: the finished lines only.
    const screen = written.split('\x1b[0J').at(-1) as string;
    expect(written.replace(/[^\n]*\n\x1b\[1A\r\x1b\[0J/g, '')).toContain('✔ Start (start) 1 ms\n');
    expect(screen).toContain('✖ workflow failed in 121 ms\n');
    expect(written).not.toContain('block-start');
  });
});

describe('progress inside loops, and what nodes log', () => {
  const schema = {
    nodes: [
      { id: 'start_0', type: 'start' },
      { id: 'loop_0', type: 'loop', blocks: [{ id: 'bs', type: 'block-start' }, { id: 'code_0', type: 'code' }, { id: 'be', type: 'block-end' }] },
    ],
  };
  const node = (type: 'node_started' | 'node_finished', nodeID: string, nodeType: string, extra: Record<string, unknown> = {}): TaskEvent =>
    ({ type, taskID, nodeID, nodeType, title: nodeID, time: 0, ...(type === 'node_finished' ? { status: 'succeeded', timeCost: 1 } : {}), ...extra }) as TaskEvent;
  const iteration = (n: number): TaskEvent[] => [
    node('node_started', 'bs', 'block-start'),
    node('node_finished', 'bs', 'block-start'),
    node('node_started', 'code_0', 'code'),
    { type: 'message', taskID, level: 'log', message: `hello ${n}`, nodeID: 'code_0', time: 0 },
    node('node_finished', 'code_0', 'code'),
  ];
  const run: TaskEvent[] = [
    node('node_started', 'loop_0', 'loop'),
    { type: 'node_progress', taskID, nodeID: 'loop_0', data: { iterations: 2 }, time: 0 },
    ...iteration(1),
    ...iteration(2),
    node('node_finished', 'loop_0', 'loop'),
  ];

  it('labels nodes inside a loop with their iteration and shows their console output under them', () => {
    const { out, text } = capture(false);
    const progress = plainProgress(out, { layout: loopLayout(schema) });
    for (const event of run) progress.onEvent(event);
    expect(text()).toBe('✔ code_0 (code) [1/2] 1 ms\n  │ hello 1\n✔ code_0 (code) [2/2] 1 ms\n  │ hello 2\n✔ loop_0 (loop) 1 ms\n');
  });

  it('quiet hides what nodes log', () => {
    const { out, text } = capture(false);
    const progress = plainProgress(out, { layout: loopLayout(schema), quiet: true });
    for (const event of run) progress.onEvent(event);
    expect(text()).not.toContain('hello');
  });
});
