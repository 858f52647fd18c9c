import { describe, expect, it } from 'vitest';
import { ErrorCodes, FlowgramError } from '../errors.js';
import { assertUrlAllowed, hostMatches, policyHost } from './policy.js';

describe('hostMatches', () => {
  it('matches exact hosts case-insensitively and wildcards only on subdomains', () => {
    expect(hostMatches('Example.com', 'example.COM')).toBe(true);
    expect(hostMatches('example.com', 'api.example.com')).toBe(false);
    expect(hostMatches('*.example.com', 'api.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'a.b.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'example.com')).toBe(false);
    expect(hostMatches('*.example.com', 'badexample.com')).toBe(false);
  });

  it('normalises IPv6 brackets and trailing dots', () => {
    expect(policyHost(new URL('http://[::1]:8080/'))).toBe('::1');
    expect(policyHost(new URL('http://Example.com./'))).toBe('example.com');
  });
});

describe('assertUrlAllowed', () => {
  const resolveTo = (...addresses: string[]) => async () => addresses;
  const code = async (promise: Promise<void>) => {
    const error = await promise.then(() => undefined, (reason: unknown) => reason);
    return error instanceof FlowgramError ? error.code : error;
  };

  it('allows everything http(s) by default, without resolving', async () => {
    const resolve = () => Promise.reject(new Error('must not resolve'));
    await expect(assertUrlAllowed(new URL('http://127.0.0.1/'), {}, resolve)).resolves.toBeUndefined();
  });

  it('refuses other schemes', async () => {
    expect(await code(assertUrlAllowed(new URL('file:///etc/passwd'), {}))).toBe(ErrorCodes.NETWORK_POLICY);
  });

  it('applies deny before allow, and a non-empty allow list strictly', async () => {
    const policy = { allowHosts: ['*.example.com'], denyHosts: ['secret.example.com'] };
    expect(await code(assertUrlAllowed(new URL('https://secret.example.com/'), policy))).toBe(ErrorCodes.NETWORK_POLICY);
    expect(await code(assertUrlAllowed(new URL('https://other.org/'), policy))).toBe(ErrorCodes.NETWORK_POLICY);
    await expect(assertUrlAllowed(new URL('https://api.example.com/'), policy)).resolves.toBeUndefined();
  });

  it('with denyPrivateNetworks refuses a host when any of its addresses is private', async () => {
    const policy = { denyPrivateNetworks: true };
    await expect(assertUrlAllowed(new URL('https://public.test/'), policy, resolveTo('93.184.216.34'))).resolves.toBeUndefined();
    expect(await code(assertUrlAllowed(new URL('https://rebind.test/'), policy, resolveTo('93.184.216.34', '10.0.0.5')))).toBe(ErrorCodes.NETWORK_POLICY);
    expect(await code(assertUrlAllowed(new URL('http://[::1]/'), policy))).toBe(ErrorCodes.NETWORK_POLICY);
    expect(await code(assertUrlAllowed(new URL('http://169.254.169.254/latest/meta-data'), policy))).toBe(ErrorCodes.NETWORK_POLICY);
  });

  it.each(['http://[::ffff:0:127.0.0.1]/', 'http://[::127.0.0.1]/', 'http://[::ffff:127.0.0.1]/', 'http://[64:ff9b::10.0.0.1]/', 'http://2130706433/', 'http://0x7f.1/'])(
    'with denyPrivateNetworks refuses %s (every spelling of a private address)',
    async (url) => {
      expect(await code(assertUrlAllowed(new URL(url), { denyPrivateNetworks: true }))).toBe(ErrorCodes.NETWORK_POLICY);
    },
  );
});
