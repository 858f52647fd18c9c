import { lookup as lookupCallback, type LookupAddress, type LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { NetworkPolicy } from '../engine/types.js';
import { ErrorCodes, FlowgramError } from '../errors.js';
import { isSpecialPurposeAddress } from './special-addresses.js';

/** `example.com` matches only itself; `*.example.com` matches its subdomains. Case-insensitive. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.trim().toLowerCase();
  const h = host.toLowerCase();
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
  return p === h;
}

/** The host of a URL as the policy sees it: lower-case, IPv6 without brackets, no trailing dot. */
export function policyHost(url: URL): string {
  let host = url.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host;
}

function refuse(url: URL, why: string): FlowgramError {
  return new FlowgramError(ErrorCodes.NETWORK_POLICY, `network policy refused ${url.protocol}//${url.host}: ${why}`);
}

/** Resolves a hostname to every address it may connect to (IP literals resolve to themselves). */
export type HostResolver = (host: string) => Promise<string[]>;

const resolveWithDns: HostResolver = async (host) => {
  if (isIP(host)) return [host];
  const records = await lookup(host, { all: true, verbatim: true });
  return records.map((record) => record.address);
};

/**
 * Throws FLOWGRAM_ERR_NETWORK_POLICY when the policy forbids connecting to the URL: non-http(s)
 * schemes, a denied host, a host missing from a non-empty allow list, or (with denyPrivateNetworks)
 * a host with any private address. Call it for every hop of a redirect chain.
 */
export async function assertUrlAllowed(url: URL, policy: NetworkPolicy, resolve: HostResolver = resolveWithDns): Promise<void> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(url, `only http and https are allowed`);
  const host = policyHost(url);
  if (policy.denyHosts?.some((pattern) => hostMatches(pattern, host))) throw refuse(url, 'the host is on the deny list');
  if (policy.allowHosts && policy.allowHosts.length > 0 && !policy.allowHosts.some((pattern) => hostMatches(pattern, host))) {
    throw refuse(url, 'the host is not on the allow list');
  }
  if (!policy.denyPrivateNetworks) return;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    throw new Error(`cannot resolve host "${host}": ${(error as Error).message}`, { cause: error });
  }
  const blocked = addresses.find(isSpecialPurposeAddress);
  if (blocked !== undefined) throw refuse(url, `the host resolves to the private address ${blocked}`);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A socket `lookup` that refuses private addresses on the very resolution the socket connects to.
 * `assertUrlAllowed` checks before the request, with its own resolution; a host that answers DNS
 * differently the second time (DNS rebinding) is caught here. IP literals never reach a lookup:
 * `assertUrlAllowed` has checked those.
 */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookupCallback(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const blocked = addresses.find((entry) => isSpecialPurposeAddress(entry.address));
    if (blocked) {
      const refusal = new FlowgramError(ErrorCodes.NETWORK_POLICY, `network policy refused ${hostname}: the host resolves to the private address ${blocked.address}`);
      return callback(refusal as NodeJS.ErrnoException, []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`cannot resolve host "${hostname}"`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}
