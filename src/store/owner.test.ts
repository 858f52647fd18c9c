import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isDeadLocalOwner, newOwnerID } from './owner.js';

describe('owner IDs', () => {
  it('name this host and process, and are unique per runtime', () => {
    const id = newOwnerID();
    expect(id.startsWith(`${hostname()}/${process.pid}/`)).toBe(true);
    expect(newOwnerID()).not.toBe(id);
  });

  it('tell a gone process of this machine from a live one, and never judge what they cannot know', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    const pid = child.pid as number;
    expect(isDeadLocalOwner(`${hostname()}/${pid}/x`)).toBe(false);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(isDeadLocalOwner(`${hostname()}/${pid}/x`)).toBe(true);

    expect(isDeadLocalOwner(newOwnerID())).toBe(false); // this very process
    expect(isDeadLocalOwner(`another-host.example/${pid}/x`)).toBe(false);
    expect(isDeadLocalOwner('3f1c0d5e-6a4b-4c8e-9a51-2b7d1e0f9c33')).toBe(false); // an ID of another form
  });
});
