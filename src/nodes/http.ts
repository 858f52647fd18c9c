import type { ExecutionContext, NodeExecutor } from '../engine/types.js';
import { isTypeCompatible } from '../engine/value-types.js';
import { createPolicedFetch } from '../net/fetch.js';
import { requestWithRetries } from '../net/request.js';
import { REDACTED } from '../redact.js';
import { CREDENTIAL_NAME } from '../secrets/credentials.js';
import type { IFlowValue, IJsonSchema, VariableType, WorkflowOutputs } from '../schema/types.js';

/** `data` of an HTTP node, as the flowgram editor writes it (HTTPNodeData in runtime-interface). */
interface HttpNodeData {
  api?: { method?: string; url?: IFlowValue };
  headers?: IJsonSchema;
  headersValues?: Record<string, IFlowValue>;
  params?: IJsonSchema;
  paramsValues?: Record<string, IFlowValue>;
  body?: {
    bodyType?: string;
    json?: IFlowValue;
    formData?: IJsonSchema;
    formDataValues?: Record<string, IFlowValue>;
    rawText?: IFlowValue;
    binary?: IFlowValue;
    xWwwFormUrlencoded?: IJsonSchema;
    xWwwFormUrlencodedValues?: Record<string, IFlowValue>;
  };
  timeout?: { timeout?: number; retryTimes?: number };
}

/** The HTTPBodyType values of runtime-interface. */
export const HTTP_BODY_TYPES = ['none', 'JSON', 'form-data', 'x-www-form-urlencoded', 'raw-text', 'binary'] as const;

interface EncodedBody {
  body: RequestInit['body'];
  /** Used when the node sets no Content-Type; form-data leaves it to fetch (it adds the boundary). */
  contentType?: string;
  /** The body as the snapshot shows it: the text sent, or the fields of a multipart form. */
  shown: unknown;
}


export const HTTP_DEFAULTS = {
  timeoutMs: 60_000,
  maxResponseBytes: 10 * 1024 * 1024,
  retryBaseDelayMs: 200,
  retryMaxDelayMs: 10_000,
  /** retryTimes above this is clamped, so a workflow cannot hammer a server indefinitely. */
  maxRetryTimes: 10,
} as const;

/** HTTPMethod of runtime-interface plus OPTIONS; anything else is refused before sending (fetch would throw). */
const HTTP_METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']);

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*?)(;base64)?,(.*)$/s;

/** A value as text for a header, query parameter or form field (objects as JSON, as templates render them). */
function asText(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** Resolves a `{ declaration, values }` pair (headers, params, form fields), keeping values whose type fits. */
export function resolveDeclaredValues(
  context: ExecutionContext,
  declaration: IJsonSchema | undefined,
  values: Record<string, IFlowValue> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = declaration?.properties;
  if (!values || !properties) return out;
  for (const key in values) {
    const property = properties[key];
    if (!property) continue;
    const declaredType = property.type as VariableType;
    const resolved = context.values.resolve(values[key], declaredType);
    if (resolved && isTypeCompatible(declaredType, resolved.type)) out[key] = resolved.value;
  }
  return out;
}

function resolveText(context: ExecutionContext, value: IFlowValue | undefined): string | undefined {
  const resolved = context.values.resolve(value, 'string');
  return resolved === null ? undefined : asText(resolved.value);
}

/** `data:<type>;base64,<bytes>` sends exact bytes; any other text is sent as UTF-8. */
export function decodeBinaryBody(text: string): { bytes: Uint8Array; contentType: string } {
  const match = DATA_URL.exec(text);
  if (!match) return { bytes: new TextEncoder().encode(text), contentType: 'application/octet-stream' };
  const [, mediaType, , base64, payload] = match;
  const bytes = base64 ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'utf8');
  return { bytes: new Uint8Array(bytes), contentType: mediaType || 'application/octet-stream' };
}

function encodeBody(context: ExecutionContext, data: HttpNodeData): EncodedBody {
  const spec = data.body ?? {};
  const bodyType = spec.bodyType ?? 'none';
  switch (bodyType) {
    case 'none':
      return { body: undefined, shown: '' };
    case 'JSON': {
      const json = resolveText(context, spec.json);
      if (json === undefined) throw new Error('HTTP json body is required');
      return { body: json, contentType: 'application/json', shown: json };
    }
    case 'raw-text': {
      // Upstream 1.0.9 reads raw text from the `json` field by mistake; flows saved that way still work.
      const text = resolveText(context, spec.rawText) ?? resolveText(context, spec.json);
      if (text === undefined) throw new Error('HTTP raw-text body is required');
      return { body: text, contentType: 'text/plain', shown: text };
    }
    case 'binary': {
      const text = resolveText(context, spec.binary);
      if (text === undefined) throw new Error('HTTP binary body is required');
      const { bytes, contentType } = decodeBinaryBody(text);
      return { body: bytes, contentType, shown: text };
    }
    case 'form-data': {
      if (!spec.formData || !spec.formDataValues) throw new Error('HTTP form-data body is required');
      const form = new FormData();
      const fields: Record<string, string> = {};
      for (const [key, value] of Object.entries(resolveDeclaredValues(context, spec.formData, spec.formDataValues))) {
        form.append(key, asText(value));
        fields[key] = asText(value);
      }
      return { body: form, shown: fields };
    }
    case 'x-www-form-urlencoded': {
      if (!spec.xWwwFormUrlencoded || !spec.xWwwFormUrlencodedValues) throw new Error('HTTP x-www-form-urlencoded body is required');
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(resolveDeclaredValues(context, spec.xWwwFormUrlencoded, spec.xWwwFormUrlencodedValues))) {
        params.append(key, asText(value));
      }
      const text = params.toString();
      return { body: text, contentType: 'application/x-www-form-urlencoded', shown: text };
    }
    default:
      throw new Error(`HTTP invalid body type "${bodyType}" (expected one of ${HTTP_BODY_TYPES.join(', ')})`);
  }
}

function buildUrl(context: ExecutionContext, data: HttpNodeData, params: Record<string, string>): URL {
  const raw = resolveText(context, data.api?.url)?.trim();
  if (!raw) throw new Error('HTTP url is required');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`HTTP url "${raw}" is not a valid URL`);
  }
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url;
}

/** Declared values as the texts sent (headers, query parameters), leaving out missing ones and, if asked, empty ones. */
function declaredTexts(
  context: ExecutionContext,
  declaration: IJsonSchema | undefined,
  values: Record<string, IFlowValue> | undefined,
  skipEmpty: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(resolveDeclaredValues(context, declaration, values))) {
    if (value === undefined || value === null || (skipEmpty && value === '')) continue;
    out[key] = asText(value);
  }
  return out;
}

/** Credential-named headers and query parameters and a URL's password are secrets, whichever value they hold. */
function markCredentials(context: ExecutionContext, headers: Record<string, string>, params: Record<string, string>, url: URL): void {
  for (const entries of [headers, params]) for (const [key, value] of Object.entries(entries)) if (CREDENTIAL_NAME.test(key)) context.markSecret(value);
  if (url.password) context.markSecret(decodeURIComponent(url.password));
}

function masked(entries: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries)) out[key] = CREDENTIAL_NAME.test(key) ? REDACTED : value;
  return out;
}

/** The URL as a snapshot shows it: no password, no value of a sensitive query parameter. */
function shownUrl(url: URL): string {
  const shown = new URL(url);
  if (shown.password) shown.password = REDACTED;
  for (const key of [...shown.searchParams.keys()]) if (CREDENTIAL_NAME.test(key)) shown.searchParams.set(key, REDACTED);
  return shown.toString();
}

function declaredBodyType(context: ExecutionContext): string | undefined {
  const type = context.node.outputs?.properties?.body?.type;
  return typeof type === 'string' ? type : undefined;
}

/** The body as text, or parsed when the node declares `body` as an object/array and the reply is JSON. */
function decodeResponseBody(context: ExecutionContext, bytes: Uint8Array): unknown {
  const text = new TextDecoder().decode(bytes);
  const declared = declaredBodyType(context);
  if (declared !== 'object' && declared !== 'array' && declared !== 'map') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    context.log.warn(`HTTP response body is not JSON although the node declares body as ${declared}; kept as text`);
    return text;
  }
}

function retryTimes(data: HttpNodeData): number {
  const value = Number(data.timeout?.retryTimes ?? 0);
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.min(HTTP_DEFAULTS.maxRetryTimes, Math.floor(value));
}

/**
 * Sends the request an HTTP node describes and outputs `statusCode`, `headers` and `body`. Statuses are
 * outputs, not errors (as upstream); network errors, timeouts and 429/5xx are retried `retryTimes`
 * times with backoff, and the runtime's network policy is checked on every hop.
 */
export const httpExecutor: NodeExecutor = {
  type: 'http',
  async execute(context) {
    const data = context.node.data as HttpNodeData;
    const limits = context.limits.http ?? {};
    const method = String(data.api?.method ?? 'GET').toUpperCase();
    if (!HTTP_METHODS.has(method)) throw new Error(`HTTP method "${method}" is not supported (use one of ${[...HTTP_METHODS].join(', ')})`);
    const params = declaredTexts(context, data.params, data.paramsValues, true);
    const url = buildUrl(context, data, params);
    const headerTexts = declaredTexts(context, data.headers, data.headersValues, false);
    markCredentials(context, headerTexts, params, url);
    const headers = new Headers(headerTexts);
    const { body, contentType, shown } = method === 'GET' || method === 'HEAD' ? { body: undefined, shown: '' } : encodeBody(context, data);
    if (contentType && !headers.has('content-type')) headers.set('content-type', contentType);
    const nodeTimeout = Number(data.timeout?.timeout);
    const timeoutMs = Number.isFinite(nodeTimeout) && nodeTimeout > 0 ? nodeTimeout : (limits.timeoutMs ?? HTTP_DEFAULTS.timeoutMs);
    const retries = retryTimes(data);
    // The resolved request is the node's inputs in its snapshot, as upstream records it.
    context.recordInputs({
      method,
      url: shownUrl(url),
      headers: masked(headerTexts),
      params: masked(params),
      bodyType: data.body?.bodyType ?? 'none',
      body: shown,
      timeout: timeoutMs,
      retryTimes: retries,
    });
    context.progress({ request: { method, url: shownUrl(url) }, attempts: 1 });

    const response = await requestWithRetries({
      url: url.toString(),
      init: { method, headers, body },
      retries,
      timeoutMs,
      backoff: {
        baseDelayMs: limits.retryBaseDelayMs ?? HTTP_DEFAULTS.retryBaseDelayMs,
        maxDelayMs: limits.retryMaxDelayMs ?? HTTP_DEFAULTS.retryMaxDelayMs,
      },
      maxResponseBytes: limits.maxResponseBytes ?? HTTP_DEFAULTS.maxResponseBytes,
      limitName: 'http.maxResponseBytes',
      signal: context.signal,
      fetch: createPolicedFetch(context.network),
      onRetry: ({ attempt, reason, delayMs }) => {
        context.log.warn(`HTTP ${method} ${url.origin}${url.pathname} attempt ${attempt} failed (${reason}); retrying in ${delayMs} ms`);
        context.progress({ attempts: attempt + 1 });
      },
    });

    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      responseHeaders[key] = value;
    });
    const outputs: WorkflowOutputs = {
      statusCode: response.status,
      headers: responseHeaders,
      body: decodeResponseBody(context, response.body),
    };
    return { outputs };
  },
};
