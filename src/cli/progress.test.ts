import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../engine/types.js';
import { plainProgress, ttyProgress } from './progress.js';

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
    expect(text()).toBe('✔ Start (start) 1 ms\n✖ LLM_1 (llm) 120 ms: rate limited\n✖ workflow failed in 121 ms: rate limited\n');
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
    expect(screen).toContain('✖ workflow failed in 121 ms: rate limited\n');
    expect(written).not.toContain('block-start');
  });
});
