import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A runtime's owner ID: `<host>/<pid>/<uuid>`. The host and pid let a runtime on the same machine tell
 * at once that the process behind an owner is gone (a restart after a crash), instead of waiting for
 * its heartbeat to go stale; the uuid tells runtimes of one process apart.
 */
export function newOwnerID(): string {
  return `${hostname()}/${process.pid}/${randomUUID()}`;
}

/**
 * Whether `owner` was a process on this machine that no longer exists. False whenever that cannot be
 * known for sure (another host, an ID of another form, a process of another user): those wait for
 * their lease to run out. A reused pid only delays recovery, never hastens it.
 */
export function isDeadLocalOwner(owner: string): boolean {
  const match = /^(.*)\/(\d+)\/[^/]+$/.exec(owner);
  if (!match || match[1] !== hostname()) return false;
  const pid = Number(match[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
