import { describe, expect, it } from 'vitest';
import { ChannelState, createChannelBuffers, FrameReader, FrameWriter, SharedChannel } from './shared-channel.js';

describe('FrameWriter / FrameReader', () => {
  it('round-trips numbers and strings, non-ASCII included', () => {
    const bytes = new Uint8Array(new SharedArrayBuffer(256));
    const length = new FrameWriter(bytes).number(1.5).string('héllo ✓ 𝄞').string('').number(-3).end();
    expect(length).toBeGreaterThan(0);
    const reader = new FrameReader(bytes.subarray(0, length));
    expect([reader.number(), reader.string(), reader.string(), reader.number()]).toEqual([1.5, 'héllo ✓ 𝄞', '', -3]);
  });

  it('reports a frame that does not fit instead of cutting it', () => {
    const bytes = new Uint8Array(new SharedArrayBuffer(32));
    expect(new FrameWriter(bytes).string('x'.repeat(28)).end()).toBe(32);
    expect(new FrameWriter(bytes).string('x'.repeat(29)).end()).toBeUndefined();
    expect(new FrameWriter(bytes).string('é'.repeat(20)).end()).toBeUndefined();
    expect(new FrameWriter(bytes).number(1).number(2).number(3).number(4).number(5).end()).toBeUndefined();
  });
});

describe('SharedChannel', () => {
  it('shares state, length and retire between two views of the same buffers', () => {
    const buffers = createChannelBuffers(64);
    const host = new SharedChannel(buffers);
    const worker = new SharedChannel(buffers);
    host.job = 7;
    host.set(ChannelState.request, 12);
    expect([worker.state, worker.length, worker.job, worker.retire]).toEqual([ChannelState.request, 12, 7, false]);
    worker.set(ChannelState.reply, 5, true);
    expect([host.state, host.length, host.retire]).toEqual([ChannelState.reply, 5, true]);
  });

  it('moves state only from the expected one', () => {
    const channel = new SharedChannel(createChannelBuffers(8));
    channel.set(ChannelState.wake);
    expect(channel.exchange(ChannelState.wake, ChannelState.idle)).toBe(true);
    channel.set(ChannelState.request);
    expect(channel.exchange(ChannelState.wake, ChannelState.idle)).toBe(false);
    expect(channel.state).toBe(ChannelState.request);
  });

  it('waits synchronously at most the given time, and asynchronously until the state changes', async () => {
    const channel = new SharedChannel(createChannelBuffers(8));
    const started = performance.now();
    expect(channel.waitWhile(ChannelState.idle, 20)).toBe(ChannelState.idle);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    const changed = channel.changeFrom(ChannelState.idle);
    setTimeout(() => channel.set(ChannelState.reply), 10);
    expect(await changed).toBe(ChannelState.reply);
  });
});
