import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * The nice value of sandbox threads: hostile scripts spin at full speed on their workers, and with as
 * many workers as cores the host's event loop would wait for the OS to give it a core back (several ms
 * at a time). At nice 10 a busy worker weighs about a tenth of the event loop, so the loop gets the CPU
 * whenever it has work; the workers still use every cycle the loop leaves.
 */
export const SANDBOX_THREAD_NICE = 10;

/**
 * Lowers the priority of the calling thread only (never the whole process) and reports whether it
 * could. Linux only: a thread's ID is its name under /proc/thread-self, and setpriority on it changes
 * that thread alone. Elsewhere it does nothing. A thread may always lower its own priority; it can
 * never raise it back, and needs not: the thread ends with its worker.
 */
export function lowerThreadPriority(nice = SANDBOX_THREAD_NICE): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
