import { Agent, type Dispatcher } from 'undici';
import type { NetworkPolicy } from '../engine/types.js';
import { isFlowgramError } from '../errors.js';
import { assertUrlAllowed, publicOnlyLookup, type HostResolver } from './policy.js';

/** The shape of the global fetch; the OpenAI client accepts one of these too. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
/** Headers describing a request body; dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length'];
/** Credentials never forwarded to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

/** Connections of policies that deny private networks: their sockets check the address they connect to. */
let publicOnlyDispatcher: Dispatcher | undefined;

function dispatcherFor(policy: NetworkPolicy): Dispatcher | undefined {
  if (!policy.denyPrivateNetworks) return undefined;
  publicOnlyDispatcher ??= new Agent({ connect: { lookup: publicOnlyLookup } });
  return publicOnlyDispatcher;
}

/**
 * A fetch that asks the network policy before every hop. Redirects are followed by hand (as fetch
 * itself would: up to 20, 303 and POST-on-301/302 become GET, credentials dropped across origins) so
 * that a permitted host cannot bounce the request to a refused one.
 */
export function createPolicedFetch(policy: NetworkPolicy, resolve?: HostResolver): FetchFunction {
  const dispatcher = dispatcherFor(policy);
  return async (input, init = {}) => {
    const request = input instanceof Request ? input : undefined;
    let url = new URL(request ? request.url : input.toString());
    let method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    let body = init.body ?? null;
    const headers = new Headers(init.headers ?? request?.headers);
    const mode = init.redirect ?? request?.redirect ?? 'follow';
    for (let hop = 0; ; hop++) {
      await assertUrlAllowed(url, policy, resolve);
      const response = await fetchWith(url, { ...init, method, headers, body, redirect: 'manual' }, dispatcher);
      const location = response.headers.get('location');
      if (mode === 'manual' || !REDIRECT_STATUSES.has(response.status) || location === null) return response;
      if (mode === 'error') {
        await response.body?.cancel().catch(() => undefined);
        throw new TypeError(`redirect from ${url.origin} refused (redirect: "error")`);
      }
      if (hop >= MAX_REDIRECTS) {
        await response.body?.cancel().catch(() => undefined);
        throw new TypeError(`too many redirects (more than ${MAX_REDIRECTS}) starting from ${url.origin}`);
      }
      await response.body?.cancel().catch(() => undefined);
      const next = new URL(location, url);
      const becomesGet =
        ((response.status === 301 || response.status === 302) && method === 'POST') ||
        (response.status === 303 && method !== 'GET' && method !== 'HEAD');
      if (becomesGet) {
        method = 'GET';
        body = null;
        for (const name of BODY_HEADERS) headers.delete(name);
      }
      if (next.origin !== url.origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
      url = next;
    }
  };
}

/** Node's fetch, on `dispatcher` when given; a policy refusal at connect time surfaces as itself. */
async function fetchWith(url: URL, init: RequestInit, dispatcher: Dispatcher | undefined): Promise<Response> {
  try {
    // `dispatcher` is Node's extension of RequestInit (undici), missing from the DOM types.
    return await fetch(url, dispatcher ? ({ ...init, dispatcher } as RequestInit) : init);
  } catch (error) {
    const cause = (error as { cause?: unknown } | null)?.cause;
    if (isFlowgramError(cause)) throw cause;
    throw error;
  }
}
