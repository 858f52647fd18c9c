/**
 * Live progress of one task as Server-Sent Events. A client that connects late first gets every event
 * so far (or those after its `Last-Event-ID`), then the live ones; the stream ends after
 * `workflow_finished`. Each event's `id` is its position in the task's event list.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TaskEvent } from '../engine/types.js';
import type { IReport } from '@flowgram.ai/runtime-interface';
import { taskNotFound } from './errors.js';
import type { LiveTask, TaskService } from './task-service.js';

/** Keeps proxies from closing a quiet stream (a node that runs for minutes). */
const HEARTBEAT_MS = 15_000;

function frame(id: number, event: TaskEvent): string {
  return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** The closing event of a task known only by its report (ended, or waiting for a signal, and no longer held live). */
function finishedFromReport(report: IReport): TaskEvent {
  const { status, endTime, startTime, timeCost, terminated } = report.workflowStatus;
  if (!terminated) {
    // Not held by any runtime and not ended: it waits for a signal (nothing runs until one comes).
    const nodeIDs = Object.keys(report.reports).filter((nodeID) => (report.reports[nodeID].snapshots.at(-1) as { waiting?: boolean } | undefined)?.waiting === true);
    return { type: 'workflow_waiting', taskID: report.id, nodeIDs, time: Date.now() };
  }
  const ended = status === 'succeeded' || status === 'failed' || status === 'canceled' ? status : 'failed';
  return { type: 'workflow_finished', taskID: report.id, status: ended, time: endTime ?? startTime, timeCost, outputs: report.outputs };
}

function lastEventID(request: FastifyRequest): number {
  const header = request.headers['last-event-id'];
  const value = Number(Array.isArray(header) ? header[0] : header);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

export async function streamTask(request: FastifyRequest, reply: FastifyReply, service: TaskService, taskID: string): Promise<void> {
  const task = await service.liveTask(taskID);
  const report = task ? undefined : await service.report(taskID).catch(() => undefined);
  if (!task && !report) throw taskNotFound(taskID);

  // Fastify steps aside: the response is written directly. Headers set by hooks (CORS) are kept.
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const skip = lastEventID(request);

  if (!task) {
    raw.end(frame(1, finishedFromReport(report as IReport)));
    return;
  }
  followTask(raw, task, skip);
}

/** Replays the events after `skip`, then follows the task until workflow_finished or the client leaves. */
function followTask(raw: ServerResponse, task: LiveTask, skip: number): void {
  // Replaying and subscribing happen in the same tick, so no event falls between the two.
  const past = task.events();
  let nextID = 1;
  let buffer = '';
  let finished = false;
  for (const event of past) {
    if (nextID > skip) buffer += frame(nextID, event);
    nextID++;
    if (event.type === 'workflow_finished') finished = true;
  }
  if (task.ended && !finished) {
    // The event log hit its cap before the end: close with what the report says.
    buffer += frame(nextID, finishedFromReport(task.report()));
    finished = true;
  }
  if (finished) {
    task.close?.();
    raw.end(buffer);
    return;
  }
  if (buffer) raw.write(buffer);

  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  let closed = false;
  // Filled in after subscribing; a remote task may deliver workflow_finished during subscribe().
  const subscription: { off?: () => void } = {};
  function close(): void {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    subscription.off?.();
    task.close?.();
    if (!raw.writableEnded) raw.end();
  }
  subscription.off = task.subscribe(
    (event) => {
      if (closed) return;
      raw.write(frame(nextID++, event));
      if (event.type === 'workflow_finished') close();
    },
    { replay: false },
  );
  // A task that finished while subscribing (a remote one may) has already closed the stream.
  if (closed) subscription.off();
  // The response closes when we end it or when the client goes away.
  raw.once('close', close);
}
