/**
 * Names shared by API servers and workers: the BullMQ queue, and the Redis keys through which a
 * running task's events, live report and cancellation travel. One place, so both sides agree.
 */
export const QUEUE_NAME = 'tasks';
/** BullMQ's key prefix: every key of ours starts with it, so one Redis can serve other apps too. */
export const KEY_PREFIX = 'flowgram';

/** A stream per task: its TaskEvents in order (XADD), read by API servers for SSE (XRANGE + XREAD). */
export const eventsKey = (taskID: string): string => `${KEY_PREFIX}:events:${taskID}`;
/** The latest report of a running task, refreshed by its worker while it runs. */
export const reportKey = (taskID: string): string => `${KEY_PREFIX}:report:${taskID}`;
/** Set when a cancel was asked, so a worker that picks the task up later still sees it. */
export const cancelKey = (taskID: string): string => `${KEY_PREFIX}:cancel:${taskID}`;
/** Where API servers announce cancels; every worker listens and the one running the task acts. */
export const CANCEL_CHANNEL = `${KEY_PREFIX}:cancels`;

/** The field of a stream entry that holds the event as JSON. */
export const EVENT_FIELD = 'e';
