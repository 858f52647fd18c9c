/**
 * Time slices of synchronous engine work, shared by every task of the process (they all share one
 * event loop). A slice opens when the engine first checks the clock after the event loop turned, and
 * lasts `SLICE_MS`; a run that finds it over hands its continuation to `resumeLater` and returns, so
 * timers and I/O (other requests) run before any task goes on. Continuations resume first in, first
 * out, as many per turn of the event loop as fit in one slice.
 */

/** Longest stretch of synchronous engine work (ms) before the event loop gets a turn. */
export const SLICE_MS = 4;

/** When the open slice ends (epoch ms); 0 while none is open. */
let sliceEnd = 0;
let turnScheduled = false;
const waiting: Array<() => void> = [];
let head = 0;

/**
 * Whether the engine should yield now (`now` is a clock reading the caller has anyway). Opens a slice
 * when none is open; it closes when the event loop next reaches its check phase, i.e. after I/O ran.
 */
export function sliceOver(now: number): boolean {
  if (sliceEnd === 0) {
    sliceEnd = now + SLICE_MS;
    scheduleTurn();
    return false;
  }
  return now >= sliceEnd;
}

/** Runs `continuation` after the event loop has had a turn, in the order runs yielded. */
export function resumeLater(continuation: () => void): void {
  waiting.push(continuation);
  scheduleTurn();
}

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(turn);
}

function turn(): void {
  turnScheduled = false;
  sliceEnd = 0;
  if (head === waiting.length) return;
  // A new slice for those waiting; whoever does not fit in it waits for the next turn.
  const now = Date.now();
  sliceEnd = now + SLICE_MS;
  scheduleTurn();
  do {
    const continuation = waiting[head];
    waiting[head++] = NOOP;
    continuation();
  } while (head < waiting.length && Date.now() < sliceEnd);
  if (head === waiting.length) {
    waiting.length = 0;
    head = 0;
  } else if (head > 1024) {
    waiting.splice(0, head);
    head = 0;
  }
}

const NOOP = (): void => undefined;
