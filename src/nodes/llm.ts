import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ExecutionContext, NodeExecutor } from '../engine/types.js';
import { isFlowgramError } from '../errors.js';
import { createPolicedFetch } from '../net/fetch.js';
import { redactSecrets } from '../redact.js';
import { isRetryableStatus, retryAfterMs, retryDelay, sleep } from '../net/retry.js';

export const LLM_DEFAULTS = {
  timeoutMs: 120_000,
  maxRetries: 2,
  retryBaseDelayMs: 500,
  /** Cap on any wait between attempts, Retry-After included. */
  retryMaxDelayMs: 30_000,
  /** Streamed text reaches the snapshot at most this often, so long replies do not flood the event log. */
  progressIntervalMs: 50,
} as const;

/** The node's inputs, named as upstream names them, plus our optional `maxTokens` and `responseFormat`. */
interface LlmInputs {
  modelName: string;
  apiKey: string;
  apiHost: string;
  temperature: number;
  systemPrompt?: string;
  prompt: string;
  maxTokens?: number;
  responseFormat?: 'json' | 'text';
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

interface Completion {
  text: string;
  finishReason: string | null;
  usage: LlmUsage | undefined;
  model: string | undefined;
}

type OpenAIClass = typeof OpenAI;
let openAI: Promise<OpenAIClass> | undefined;

/** The client is loaded on first use: importing it costs hundreds of ms that runtimes without LLM nodes should not pay. */
function loadOpenAI(): Promise<OpenAIClass> {
  openAI ??= import('openai').then((module) => module.default);
  return openAI;
}

function isNil(value: unknown): boolean {
  return value === undefined || value === null;
}

/** Checks every required input at once (one error naming them all) and the API host's shape. */
export function checkLlmInputs(inputs: Record<string, unknown>): LlmInputs {
  const missing: string[] = [];
  if (!inputs.modelName) missing.push('modelName');
  if (isNil(inputs.temperature)) missing.push('temperature');
  if (!inputs.apiKey) missing.push('apiKey');
  if (!inputs.apiHost) missing.push('apiHost');
  if (!inputs.prompt) missing.push('prompt');
  if (missing.length > 0) throw new Error(`LLM node missing required inputs: "${missing.join('", "')}"`);
  const apiHost = String(inputs.apiHost);
  let url: URL;
  try {
    url = new URL(apiHost);
  } catch {
    throw new Error(`LLM apiHost "${apiHost}" is not a valid URL (expected e.g. https://api.openai.com/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`LLM apiHost "${apiHost}" must use http or https, not ${url.protocol}`);
  }
  const format = inputs.responseFormat;
  if (format !== undefined && format !== '' && format !== 'json' && format !== 'text') {
    throw new Error(`LLM responseFormat must be "json" or "text", got "${String(format)}"`);
  }
  const maxTokens = inputs.maxTokens;
  if (maxTokens !== undefined && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens <= 0)) {
    throw new Error(`LLM maxTokens must be a positive integer, got ${String(maxTokens)}`);
  }
  return {
    modelName: String(inputs.modelName),
    apiKey: String(inputs.apiKey),
    apiHost,
    temperature: Number(inputs.temperature),
    systemPrompt: inputs.systemPrompt ? String(inputs.systemPrompt) : undefined,
    prompt: String(inputs.prompt),
    maxTokens: maxTokens as number | undefined,
    responseFormat: format === 'json' ? 'json' : format === 'text' ? 'text' : undefined,
  };
}

/** The reply as an object: plain JSON, or JSON inside a ``` fence as chat models like to write it. */
export function parseJsonReply(text: string, apiKey?: string): unknown {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text);
  try {
    return JSON.parse(fenced ? fenced[1] : text) as unknown;
  } catch {
    throw new Error(redactSecrets(`LLM reply is not valid JSON although responseFormat is "json": ${text.slice(0, 200)}`, [apiKey]));
  }
}

function buildRequest(inputs: LlmInputs): ChatCompletionCreateParamsStreaming {
  const messages: ChatCompletionMessageParam[] = [];
  if (inputs.systemPrompt) messages.push({ role: 'system', content: inputs.systemPrompt });
  messages.push({ role: 'user', content: inputs.prompt });
  const request: ChatCompletionCreateParamsStreaming = {
    model: inputs.modelName,
    temperature: inputs.temperature,
    messages,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (inputs.maxTokens !== undefined) request.max_tokens = inputs.maxTokens;
  if (inputs.responseFormat === 'json') request.response_format = { type: 'json_object' };
  return request;
}

/** Streams one completion into the snapshot; `received` tells the caller whether any text arrived. */
async function streamCompletion(
  client: OpenAI,
  request: ChatCompletionCreateParamsStreaming,
  signal: AbortSignal,
  context: ExecutionContext,
  state: { received: boolean },
): Promise<Completion> {
  const stream = await client.chat.completions.create(request, { signal });
  const completion: Completion = { text: '', finishReason: null, usage: undefined, model: undefined };
  let lastProgress = 0;
  for await (const chunk of stream) {
    completion.model ??= chunk.model;
    const choice = chunk.choices[0];
    const delta = choice?.delta?.content;
    if (delta) {
      completion.text += delta;
      state.received = true;
      const now = Date.now();
      if (now - lastProgress >= LLM_DEFAULTS.progressIntervalMs) {
        lastProgress = now;
        context.progress({ streamingText: completion.text });
      }
    }
    if (choice?.finish_reason) completion.finishReason = choice.finish_reason;
    if (chunk.usage) {
      completion.usage = {
        promptTokens: chunk.usage.prompt_tokens,
        completionTokens: chunk.usage.completion_tokens,
        totalTokens: chunk.usage.total_tokens,
      };
    }
  }
  return completion;
}

/** ` (ECONNREFUSED)` and the like, from the network error under a client error; '' when there is none. */
function causeCode(error: unknown): string {
  let innermost: unknown;
  for (let cause = (error as { cause?: unknown }).cause, depth = 0; cause && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return ` (${code})`;
    innermost = cause;
    cause = (cause as { cause?: unknown }).cause;
  }
  const message = innermost instanceof Error ? innermost.message : '';
  return message && message !== 'fetch failed' ? ` (${message})` : '';
}

/** The status of an API error worth retrying (429/5xx), or connection trouble; undefined otherwise. */
function retryableFailure(OpenAI: OpenAIClass, error: unknown): { reason: string; headers?: Headers } | undefined {
  if (error instanceof OpenAI.APIUserAbortError) return undefined;
  if (error instanceof OpenAI.APIConnectionError) {
    // A policy refusal reaches us wrapped as a connection error; asking again will not change the answer.
    return isFlowgramError(error.cause) ? undefined : { reason: `connection error${causeCode(error)}` };
  }
  if (error instanceof OpenAI.APIError && typeof error.status === 'number' && isRetryableStatus(error.status)) {
    return { reason: `status ${error.status}`, headers: error.headers };
  }
  return undefined;
}

/** A failure as the user should read it: which host, what happened, and never the key. */
function describeError(OpenAI: OpenAIClass, error: unknown, inputs: LlmInputs, timeoutMs: number, timedOut: boolean): Error {
  if (isFlowgramError(error)) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (isFlowgramError(cause)) return cause;
  const message = (() => {
    if (timedOut || error instanceof OpenAI.APIConnectionTimeoutError) return `LLM request to "${inputs.apiHost}" timed out after ${timeoutMs} ms`;
    if (error instanceof OpenAI.APIConnectionError) return `Network error: unreachable api "${inputs.apiHost}"${causeCode(error)}`;
    if (error instanceof OpenAI.APIError && error.status !== undefined) {
      return `LLM api "${inputs.apiHost}" answered ${error.message}`;
    }
    return `LLM request failed: ${error instanceof Error ? error.message : String(error)}`;
  })();
  return new Error(redactSecrets(message, [inputs.apiKey]));
}

/**
 * Calls an OpenAI-compatible chat completions endpoint and outputs `result` (the message text, or the
 * parsed object with responseFormat "json"). Tokens stream into the snapshot as `streamingText`; usage
 * and finish reason land there too. 429/5xx and connection errors are retried with backoff that
 * honours Retry-After, as long as no text has streamed yet.
 */
export const llmExecutor: NodeExecutor = {
  type: 'llm',
  secretInputs: ['apiKey'],
  async execute(context) {
    const inputs = checkLlmInputs(context.inputs);
    const limits = context.limits.llm ?? {};
    const timeoutMs = limits.timeoutMs ?? LLM_DEFAULTS.timeoutMs;
    const maxRetries = limits.maxRetries ?? LLM_DEFAULTS.maxRetries;
    const backoff = { baseDelayMs: limits.retryBaseDelayMs ?? LLM_DEFAULTS.retryBaseDelayMs, maxDelayMs: LLM_DEFAULTS.retryMaxDelayMs };
    const OpenAI = await loadOpenAI();
    const client = new OpenAI({
      apiKey: inputs.apiKey,
      baseURL: inputs.apiHost,
      // Our loop retries (with the runtime's limits); the client's own settings and the host's
      // environment (OPENAI_ORG_ID, OPENAI_LOG, ...) must not leak into a workflow's request.
      maxRetries: 0,
      timeout: timeoutMs,
      organization: null,
      project: null,
      logLevel: 'off',
      fetch: createPolicedFetch(context.network),
    });
    const request = buildRequest(inputs);

    for (let attempt = 1; ; attempt++) {
      context.signal.throwIfAborted();
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      const state = { received: false };
      let completion: Completion | undefined;
      let failure: { reason: string; headers?: Headers } | undefined;
      try {
        completion = await streamCompletion(client, request, AbortSignal.any([context.signal, controller.signal]), context, state);
      } catch (error) {
        if (context.signal.aborted) throw context.signal.reason;
        failure = timedOut || state.received ? undefined : retryableFailure(OpenAI, error);
        if (!failure || attempt > maxRetries) throw describeError(OpenAI, error, inputs, timeoutMs, timedOut);
      } finally {
        clearTimeout(timer);
      }
      if (completion) {
        context.progress({
          streamingText: completion.text,
          finishReason: completion.finishReason,
          usage: completion.usage ?? null,
          model: completion.model ?? inputs.modelName,
          attempts: attempt,
        });
        const result = inputs.responseFormat === 'json' ? parseJsonReply(completion.text, inputs.apiKey) : completion.text;
        return { outputs: { result } };
      }
      if (!failure) throw new Error('LLM request ended without a reply');
      const delayMs = retryDelay(attempt - 1, backoff, retryAfterMs(failure.headers));
      context.log.warn(`LLM attempt ${attempt} failed (${failure.reason}); retrying in ${delayMs} ms`);
      context.progress({ attempts: attempt + 1 });
      await sleep(delayMs, context.signal);
    }
  },
};
