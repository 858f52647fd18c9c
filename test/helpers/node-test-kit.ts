/** Small helpers shared by the node integration tests (HTTP, LLM). */
import { createServer as createNetServer } from 'node:net';
import { expect } from 'vitest';
import { WorkflowRunError } from '../../src/index.js';

/** Awaits a run that must fail and returns its WorkflowRunError. */
export async function runFailing(promise: Promise<unknown>): Promise<WorkflowRunError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(WorkflowRunError);
  return error as WorkflowRunError;
}

/** A port on 127.0.0.1 nobody listens on. */
export async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
