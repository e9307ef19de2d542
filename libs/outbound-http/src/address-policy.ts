import { isIP } from 'node:net';

/**
 * Which destination addresses a webhook may never reach: private, loopback, link-local, shared
 * (CGNAT), documentation, benchmarking, multicast and reserved ranges. A pure function on the
 * address text, no I/O; the dispatcher applies it to every address a hostname resolves to.
 *
 * IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
 * `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 they carry, so
 * `::ffff:7f00:1` is refused exactly like `127.0.0.1`. Anything that is not an IP address is
 * refused (fail closed).
 */
export function isForbiddenAddress(ip: string): string | null {
  const family = isIP(ip);
  if (family === 4) return forbiddenIpv4(parseIpv4(ip));
  if (family === 6) {
    const value = parseIpv6(ip);
    return value === null ? 'not an IP address' : forbiddenIpv6(value);
  }
  return 'not an IP address';
}

interface Ipv4Range {
  readonly base: number;
  readonly prefix: number;
  readonly reason: string;
}

function v4(cidr: string, reason: string): Ipv4Range {
  const [address = '', prefix = '32'] = cidr.split('/');
  return { base: parseIpv4(address), prefix: Number(prefix), reason };
}

const forbiddenIpv4Ranges: readonly Ipv4Range[] = [
  v4('0.0.0.0/8', '"this network" (0.0.0.0/8)'),
  v4('10.0.0.0/8', 'private network (10.0.0.0/8)'),
  v4('100.64.0.0/10', 'shared address space, CGNAT (100.64.0.0/10)'),
  v4('127.0.0.0/8', 'loopback (127.0.0.0/8)'),
  v4('169.254.0.0/16', 'link-local (169.254.0.0/16)'),
  v4('172.16.0.0/12', 'private network (172.16.0.0/12)'),
  v4('192.0.0.0/24', 'IETF protocol assignments (192.0.0.0/24)'),
  v4('192.0.2.0/24', 'documentation, TEST-NET-1 (192.0.2.0/24)'),
  v4('192.168.0.0/16', 'private network (192.168.0.0/16)'),
  v4('198.18.0.0/15', 'benchmarking (198.18.0.0/15)'),
  v4('198.51.100.0/24', 'documentation, TEST-NET-2 (198.51.100.0/24)'),
  v4('203.0.113.0/24', 'documentation, TEST-NET-3 (203.0.113.0/24)'),
  v4('224.0.0.0/4', 'multicast (224.0.0.0/4)'),
  // 240.0.0.0/4 contains the limited broadcast address 255.255.255.255.
  v4('240.0.0.0/4', 'reserved (240.0.0.0/4)'),
];

function forbiddenIpv4(address: number): string | null {
  if (address === 0xffffffff) return 'limited broadcast (255.255.255.255)';
  for (const range of forbiddenIpv4Ranges) {
    if (inIpv4Range(address, range.base, range.prefix)) return range.reason;
  }
  return null;
}

function inIpv4Range(address: number, base: number, prefix: number): boolean {
  if (prefix === 0) return true;
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return (address & mask) >>> 0 === (base & mask) >>> 0;
}

/** A dotted quad already validated by `isIP`, as an unsigned 32-bit number. */
function parseIpv4(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function formatIpv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 0xff).join('.');
}

type Ipv6Rule =
  | { readonly kind: 'refuse'; readonly base: bigint; readonly prefix: number; readonly reason: string }
  // The low 32 bits (or, for 6to4, bits 16..47) carry an IPv4 address judged by the IPv4 rules.
  | { readonly kind: 'embedded'; readonly base: bigint; readonly prefix: number; readonly form: string; readonly shift: bigint };

function v6(cidr: string, reason: string): Ipv6Rule {
  const [address = '', prefix = '128'] = cidr.split('/');
  return { kind: 'refuse', base: mustParseIpv6(address), prefix: Number(prefix), reason };
}

function embedded(cidr: string, form: string, shift = 0n): Ipv6Rule {
  const [address = '', prefix = '128'] = cidr.split('/');
  return { kind: 'embedded', base: mustParseIpv6(address), prefix: Number(prefix), form, shift };
}

// Order matters: `::` and `::1` come before the IPv4-compatible ::/96 they are part of.
const ipv6Rules: readonly Ipv6Rule[] = [
  v6('::/128', 'unspecified address (::)'),
  v6('::1/128', 'loopback (::1)'),
  embedded('::ffff:0:0/96', 'IPv4-mapped'),
  embedded('::/96', 'IPv4-compatible'),
  embedded('64:ff9b::/96', 'NAT64'),
  v6('64:ff9b:1::/48', 'local-use NAT64 (64:ff9b:1::/48)'),
  embedded('2002::/16', '6to4', 80n),
  v6('2001:db8::/32', 'documentation (2001:db8::/32)'),
  v6('fc00::/7', 'unique local address (fc00::/7)'),
  v6('fe80::/10', 'link-local (fe80::/10)'),
  v6('fec0::/10', 'site-local, deprecated (fec0::/10)'),
  v6('ff00::/8', 'multicast (ff00::/8)'),
];

function forbiddenIpv6(address: bigint): string | null {
  for (const rule of ipv6Rules) {
    if (!inIpv6Range(address, rule.base, rule.prefix)) continue;
    switch (rule.kind) {
      case 'refuse':
        return rule.reason;
      case 'embedded': {
        const ipv4 = Number((address >> rule.shift) & 0xffffffffn);
        const reason = forbiddenIpv4(ipv4);
        return reason === null ? null : `${rule.form} ${formatIpv4(ipv4)}: ${reason}`;
      }
      default: {
        const unreachable: never = rule;
        throw new Error(`unknown rule ${JSON.stringify(unreachable)}`);
      }
    }
  }
  return null;
}

const ALL_ONES_128 = (1n << 128n) - 1n;

function inIpv6Range(address: bigint, base: bigint, prefix: number): boolean {
  const mask = (ALL_ONES_128 << BigInt(128 - prefix)) & ALL_ONES_128;
  return (address & mask) === (base & mask);
}

function mustParseIpv6(ip: string): bigint {
  const value = parseIpv6(ip);
  if (value === null) throw new Error(`bad IPv6 literal in the address policy: ${ip}`);
  return value;
}

/**
 * An IPv6 address (optionally with a zone id and a trailing dotted IPv4) as a 128-bit number,
 * or null when it is malformed. Callers have already checked it with `isIP`; the parser still
 * validates so that a disagreement fails closed.
 */
function parseIpv6(text: string): bigint | null {
  let ip = text;
  const zone = ip.indexOf('%');
  if (zone !== -1) ip = ip.slice(0, zone);

  let tail: number[] = [];
  const lastColon = ip.lastIndexOf(':');
  const last = ip.slice(lastColon + 1);
  if (last.includes('.')) {
    if (isIP(last) !== 4) return null;
    const ipv4 = parseIpv4(last);
    tail = [ipv4 >>> 16, ipv4 & 0xffff];
    // `::1.2.3.4` leaves `::`, `::ffff:1.2.3.4` leaves `::ffff`, `1:2:3:4:5:6:1.2.3.4` leaves `1:2:3:4:5:6`.
    ip = ip.slice(0, lastColon + 1);
    if (!ip.endsWith('::')) ip = ip.slice(0, -1);
  }

  const halves = ip.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string | undefined): string[] | null => {
    if (part === undefined || part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g)) ? groups : null;
  };
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (head === null || rest === null) return null;

  const explicit = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (explicit > 7) return null;
    groups = [...head.map(hex), ...new Array<number>(8 - explicit).fill(0), ...rest.map(hex), ...tail];
  } else {
    if (explicit !== 8) return null;
    groups = [...head.map(hex), ...tail];
  }
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

function hex(group: string): number {
  return Number.parseInt(group, 16);
}
