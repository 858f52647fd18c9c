/**
 * Time slices of synchronous work on the main thread, shared by every task of the process (they all
 * share one event loop): the engine's steps, code nodes tried inline, the sandbox pool's synchronous
 * waits and its worker starts all count against the same slice. A run that finds the slice over (or
 * too short for what it is about to do) hands its continuation to `resumeLater` and returns, so timers
 * and I/O (other requests) run before any task goes on. Continuations resume first in, first out, as
 * many per turn of the event loop as fit in one slice.
 *
 * A slice is one stretch of the event loop's time, not one callback: work that starts in an I/O or
 * timer callback (a worker's reply, an expired deadline) opens a slice, and the turn that follows in the
 * same loop iteration (setImmediate runs right after I/O, with no timer in between) goes on with that
 * slice instead of opening a fresh one. A slice opened by a turn ends with the turn (after its
 * microtasks): whatever runs next, after the loop polled I/O, opens its own.
 */

/** Longest stretch of synchronous work (ms) before the event loop gets a turn. */
export const SLICE_MS = 4;

/** When the open slice ends (performance.now() ms); 0 while none is open. */
let sliceEnd = 0;
/** The open slice began outside a turn: the next turn goes on with it rather than opening a fresh one. */
let openedOutsideTurn = false;
let turnScheduled = false;
const waiting: Array<() => void> = [];
/** For each waiting continuation, the time it needs left in the slice to start (ms). */
const rooms: number[] = [];
let head = 0;

/**
 * Time left in the open slice (ms, ≤ 0 when it is over). Opens a slice when none is open; the event
 * loop's next turn closes it.
 */
export function sliceLeft(): number {
  const now = performance.now();
  if (sliceEnd === 0) {
    sliceEnd = now + SLICE_MS;
    openedOutsideTurn = true;
    scheduleTurn();
  }
  return sliceEnd - now;
}

/** Whether synchronous work should stop now and go on after the event loop turned (see `resumeLater`). */
export function sliceOver(): boolean {
  return sliceLeft() <= 0;
}

/**
 * Runs `continuation` after the event loop has had a turn, in the order runs yielded, once the slice
 * has `room` ms left for it (a fresh slice always has: at most SLICE_MS is asked). Those behind it wait.
 */
export function resumeLater(continuation: () => void, room = 0): void {
  waiting.push(continuation);
  rooms.push(Math.min(room, SLICE_MS));
  scheduleTurn();
}

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(turn);
}

function turn(): void {
  turnScheduled = false;
  const now = performance.now();
  // Work that began in this iteration's I/O or timer callbacks already used part of the slice.
  if (sliceEnd === 0 || !openedOutsideTurn) sliceEnd = now + SLICE_MS;
  openedOutsideTurn = false;
  if (head === waiting.length) {
    sliceEnd = 0;
    return;
  }
  // The continuations' microtasks (a resumed code node, the engine steps it leads to) run in this
  // slice; once they are done, the loop moves on and the next work opens a slice of its own.
  queueMicrotask(endTurnAfterMicrotasks);
  while (head < waiting.length) {
    const left = sliceEnd - performance.now();
    if (left <= 0 || left < rooms[head]) break;
    const continuation = waiting[head];
    waiting[head++] = NOOP;
    continuation();
  }
  if (head === waiting.length) {
    waiting.length = 0;
    rooms.length = 0;
    head = 0;
  } else {
    if (head > 1024) {
      waiting.splice(0, head);
      rooms.splice(0, head);
      head = 0;
    }
    scheduleTurn();
  }
}

/** A tick queued from a microtask runs once the microtask queue is empty: after the turn's work. */
function endTurnAfterMicrotasks(): void {
  process.nextTick(endTurn);
}

function endTurn(): void {
  if (!openedOutsideTurn) sliceEnd = 0;
}

const NOOP = (): void => undefined;
