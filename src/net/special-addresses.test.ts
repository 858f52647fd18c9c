import { describe, expect, it } from 'vitest';
import { isSpecialPurposeAddress } from './special-addresses.js';

describe('isSpecialPurposeAddress', () => {
  it.each([
    // IPv4 special-purpose registry
    '127.0.0.1',
    '127.255.0.9',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '192.0.0.8',
    '192.0.2.1',
    '192.88.99.1',
    '198.18.0.1',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '255.255.255.255',
    // IPv6 loopback, unspecified and IPv4-compatible (::/96)
    '::1',
    '::',
    '0:0:0:0:0:0:0:1',
    '::127.0.0.1',
    '::7f00:1',
    '::8.8.8.8',
    // IPv4 embedded: mapped, translated, NAT64 — judged by the IPv4 address
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:7f00:0001',
    '::ffff:10.0.0.1',
    '::ffff:0:127.0.0.1',
    '::ffff:0:7f00:1',
    '::ffff:0:a9fe:a9fe',
    '64:ff9b::a00:1',
    '64:ff9b::127.0.0.1',
    '64:ff9b:1::1',
    // the rest of the IPv6 registry
    '100::1',
    '2001::1',
    '2001:1::1',
    '2001:10::1',
    '2001:1ff::1',
    '2001:db8::1',
    '2002:7f00:1::1',
    '3fff::1',
    '5f00::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'fec0::1',
    'fd12:3456::1',
    'fc00::1',
    'ff02::1',
  ])('%s is special-purpose', (address) => {
    expect(isSpecialPurposeAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '172.32.0.1',
    '192.169.0.1',
    '1.1.1.1',
    '93.184.216.34',
    '2606:4700:4700::1111',
    '2001:200::1',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '::ffff:0:8.8.8.8',
    '64:ff9b::808:808',
    '2a00:1450::1',
    'not-an-ip',
    'example.com',
  ])('%s is not special-purpose', (address) => {
    expect(isSpecialPurposeAddress(address)).toBe(false);
  });
});
