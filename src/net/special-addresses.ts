/**
 * Which IP addresses are not public Internet hosts: the IANA IPv4 and IPv6 special-purpose address
 * registries (loopback, private, link-local, unique-local, documentation, benchmarking, multicast,
 * reserved, ...). Addresses are parsed into bytes and compared by prefix, so every spelling of one
 * address (`::ffff:7f00:1`, `::ffff:127.0.0.1`, `0:0:0:0:0:ffff:7f00:0001`) is judged the same; the
 * IPv6 forms that embed an IPv4 address (mapped, translated, NAT64) are judged by that address.
 */
import { isIP } from 'node:net';

type Range = readonly [prefix: number[], bits: number];

/** RFC 6890 and the IANA IPv4 special-purpose registry; none is a public host. */
const IPV4_SPECIAL: readonly Range[] = [
  [[0, 0, 0, 0], 8], // "this network"
  [[10, 0, 0, 0], 8],
  [[100, 64, 0, 0], 10], // shared address space (CGNAT)
  [[127, 0, 0, 0], 8],
  [[169, 254, 0, 0], 16],
  [[172, 16, 0, 0], 12],
  [[192, 0, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2, 0], 24], // TEST-NET-1
  [[192, 88, 99, 0], 24], // 6to4 relay anycast (deprecated)
  [[192, 168, 0, 0], 16],
  [[198, 18, 0, 0], 15], // benchmarking
  [[198, 51, 100, 0], 24], // TEST-NET-2
  [[203, 0, 113, 0], 24], // TEST-NET-3
  [[224, 0, 0, 0], 4], // multicast
  [[240, 0, 0, 0], 4], // reserved, and the limited broadcast 255.255.255.255
];

/** IPv6 prefixes that carry an IPv4 address in their last 32 bits: judged by that address. */
const IPV6_EMBEDDING_IPV4: readonly Range[] = [
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96], // IPv4-mapped ::ffff:0:0/96
  [[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], 96], // IPv4-translated ::ffff:0:0:0/96 (RFC 2765)
  [[0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96], // NAT64 well-known prefix 64:ff9b::/96
];

/** The IANA IPv6 special-purpose registry (and deprecated ranges) that are not public hosts. */
const IPV6_SPECIAL: readonly Range[] = [
  [[], 96], // ::/96: unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d
  [[0, 0x64, 0xff, 0x9b, 0, 1], 48], // local-use NAT64 64:ff9b:1::/48
  [[0x01, 0, 0, 0, 0, 0, 0, 0], 64], // discard-only 100::/64
  [[0x20, 0x01, 0, 0], 23], // IETF protocol assignments 2001::/23 (Teredo, ORCHID, benchmarking, ...)
  [[0x20, 0x01, 0x0d, 0xb8], 32], // documentation 2001:db8::/32
  [[0x20, 0x02], 16], // 6to4: relays to any IPv4 address
  [[0x3f, 0xff], 20], // documentation 3fff::/20
  [[0x5f, 0x00], 16], // segment routing SIDs 5f00::/16
  [[0xfc], 7], // unique-local fc00::/7
  [[0xfe, 0x80], 10], // link-local fe80::/10
  [[0xfe, 0xc0], 10], // site-local fec0::/10 (deprecated)
  [[0xff], 8], // multicast ff00::/8
];

function inRange(bytes: Uint8Array, [prefix, bits]: Range): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const index = bit / 8;
    const mask = bits - bit >= 8 ? 0xff : (0xff << (8 - (bits - bit))) & 0xff;
    if ((bytes[index] & mask) !== ((prefix[index] ?? 0) & mask)) return false;
  }
  return true;
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return undefined;
  return Uint8Array.from(parts, Number);
}

/** 16 bytes of an IPv6 address (zone ID ignored, `::` and a dotted IPv4 tail expanded). */
function parseIPv6(text: string): Uint8Array | undefined {
  const address = text.split('%', 1)[0];
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4(piece);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

function isSpecialIPv4(bytes: Uint8Array): boolean {
  return IPV4_SPECIAL.some((range) => inRange(bytes, range));
}

/**
 * Whether an IP address is anything but a public unicast host (see the registries above). Not an IP
 * address at all: false (host names are resolved, then their addresses judged).
 */
export function isSpecialPurposeAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return isSpecialIPv4(parseIPv4(address)!);
  if (family !== 6) return false;
  const bytes = parseIPv6(address);
  if (!bytes) return true; // isIP accepted what this parser cannot read: refuse rather than guess
  if (IPV6_EMBEDDING_IPV4.some((range) => inRange(bytes, range))) return isSpecialIPv4(bytes.subarray(12));
  return IPV6_SPECIAL.some((range) => inRange(bytes, range));
}
