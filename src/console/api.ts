/**
 * The console's only way to the server: the public HTTP API under `apiBase`. With a token in
 * sessionStorage every request carries it as `Authorization: Bearer`; the event stream is read with
 * fetch (not EventSource) so that it can carry the header too.
 */
import type { TaskEvent } from './types.js';

const TOKEN_KEY = 'flowgram.console.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** One message per problem, each starting with its path (`data.approved: must be boolean`). */
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(json: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const token = storedToken();
  if (token) out.authorization = `Bearer ${token}`;
  if (json) out['content-type'] = 'application/json';
  return out;
}

type Query = Record<string, string | number | undefined>;

export class Api {
  constructor(readonly base: string) {}

  url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
    const search = params.toString();
    return `${this.base}${path}${search ? `?${search}` : ''}`;
  }

  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
    const response = await fetch(this.url(path, options.query), {
      method,
      headers: headers(options.body !== undefined),
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!response.ok) {
      const error = (body ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
      const details = Array.isArray(error.details) ? error.details.filter((detail): detail is string => typeof detail === 'string') : [];
      throw new ApiError(response.status, String(error.code ?? 'HTTP_ERROR'), typeof error.message === 'string' ? error.message : `HTTP ${response.status}`, details);
    }
    return body as T;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }

  /**
   * Follows a task's Server-Sent Events until the stream ends or `signal` aborts; resolves then.
   * The server replays the events so far first.
   */
  async stream(taskID: string, onEvent: (event: TaskEvent) => void, signal: AbortSignal): Promise<void> {
    const response = await fetch(this.url('/task/stream', { taskID }), { headers: { ...headers(false), accept: 'text/event-stream' }, signal });
    if (!response.ok || !response.body) throw new ApiError(response.status, 'HTTP_ERROR', `stream: HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (data) onEvent(JSON.parse(data) as TaskEvent);
      }
    }
  }
}
