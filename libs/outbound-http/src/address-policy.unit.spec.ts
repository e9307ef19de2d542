import { BlockList } from 'node:net';
import fc from 'fast-check';
import { isForbiddenAddress } from './address-policy';

// The refused IPv4 ranges again, as an independent oracle built on node's BlockList.
const REFUSED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const oracle = new BlockList();
for (const [network, prefix] of REFUSED_V4) oracle.addSubnet(network, prefix, 'ipv4');

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((parts) => parts.join('.'));

function toHexGroups(dotted: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/** Every IPv6 spelling that carries `dotted` as its IPv4 address. */
function ipv6FormsOf(dotted: string): string[] {
  const groups = toHexGroups(dotted);
  return [
    `::ffff:${dotted}`,
    `::FFFF:${dotted}`,
    `0:0:0:0:0:ffff:${dotted}`,
    `::ffff:${groups}`,
    `0000:0000:0000:0000:0000:ffff:${groups}`,
    `::${dotted}`,
    `::${groups}`,
    `64:ff9b::${dotted}`,
    `64:ff9b::${groups}`,
  ];
}

describe('isForbiddenAddress, IPv4', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0/8'],
    ['0.255.255.255', '0.0.0.0/8'],
    ['10.0.0.0', '10.0.0.0/8'],
    ['10.255.255.255', '10.0.0.0/8'],
    ['100.64.0.0', '100.64.0.0/10'],
    ['100.127.255.255', '100.64.0.0/10'],
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.255.255.254', '127.0.0.0/8'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['172.16.0.1', '172.16.0.0/12'],
    ['172.31.255.255', '172.16.0.0/12'],
    ['192.0.0.8', '192.0.0.0/24'],
    ['192.0.2.1', '192.0.2.0/24'],
    ['192.168.1.1', '192.168.0.0/16'],
    ['198.18.0.1', '198.18.0.0/15'],
    ['198.19.255.255', '198.18.0.0/15'],
    ['198.51.100.7', '198.51.100.0/24'],
    ['203.0.113.9', '203.0.113.0/24'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', '240.0.0.0/4'],
    ['255.255.255.255', '255.255.255.255'],
  ])('refuses %s (%s)', (ip, reasonPart) => {
    expect(isForbiddenAddress(ip)).toContain(reasonPart);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.255',
    '192.0.3.0',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
  ])('allows the public address %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBeNull();
  });

  it('refuses every address in 10.0.0.0/8', () => {
    fc.assert(
      fc.property(octet, octet, octet, (b, c, d) => {
        expect(isForbiddenAddress(`10.${b}.${c}.${d}`)).toContain('10.0.0.0/8');
      }),
    );
  });

  it('agrees with a BlockList of the refused ranges on any IPv4 address', () => {
    fc.assert(
      fc.property(ipv4, (ip) => {
        expect(isForbiddenAddress(ip) !== null).toBe(oracle.check(ip, 'ipv4') || ip === '255.255.255.255');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isForbiddenAddress, IPv6', () => {
  it.each([
    ['::', 'unspecified'],
    ['0:0:0:0:0:0:0:0', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'unique local'],
    ['fd12:3456:789a::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['FF05::1:3', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001:0db8:ffff::1', 'documentation'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:0.0.0.0', '0.0.0.0/8'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', '10.0.0.0/8'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    ['2002:c0a8:101::1', '192.168.0.0/16'],
  ])('refuses %s (%s)', (ip, reasonPart) => {
    expect(isForbiddenAddress(ip)).toContain(reasonPart);
  });

  it.each([
    '2606:4700::1111',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:93.184.216.34',
    '::ffff:5db8:d822',
    '64:ff9b::93.184.216.34',
    '2002:5db8:d822::1',
    '2001:db9::1',
    'fbff::1',
    'fe7f::1',
  ])('allows the public address %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBeNull();
  });

  it('judges every IPv4-mapped, -compatible and NAT64 form as its IPv4 address', () => {
    fc.assert(
      fc.property(ipv4, (ip) => {
        const refused = isForbiddenAddress(ip) !== null;
        for (const form of ipv6FormsOf(ip)) expect({ form, refused: isForbiddenAddress(form) !== null }).toEqual({ form, refused });
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses any mapped form of a refused IPv4 address', () => {
    const refusedIpv4 = fc
      .tuple(fc.constantFrom(...REFUSED_V4), fc.integer({ min: 0, max: 0xffffffff }))
      .map(([[network, prefix], noise]) => {
        const [a = 0, b = 0, c = 0, d = 0] = network.split('.').map(Number);
        const base = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
        const hostMask = prefix === 32 ? 0 : (0xffffffff >>> prefix) >>> 0;
        const value = (base | (noise & hostMask)) >>> 0;
        return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
      });
    fc.assert(
      fc.property(refusedIpv4, (ip) => {
        expect(isForbiddenAddress(ip)).not.toBeNull();
        for (const form of ipv6FormsOf(ip)) expect({ form, reason: isForbiddenAddress(form) }).toEqual({ form, reason: expect.any(String) });
      }),
    );
  });

  it('refuses every address in fc00::/7 and fe80::/10', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    fc.assert(
      fc.property(fc.integer({ min: 0xfc00, max: 0xfdff }), fc.array(group, { minLength: 7, maxLength: 7 }), (first, rest) => {
        expect(isForbiddenAddress([first.toString(16), ...rest].join(':'))).toContain('unique local');
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0xfe80, max: 0xfebf }), fc.array(group, { minLength: 7, maxLength: 7 }), (first, rest) => {
        expect(isForbiddenAddress([first.toString(16), ...rest].join(':'))).toContain('link-local');
      }),
    );
  });

  it('never throws and always answers for any IPv6 address', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const verdict = isForbiddenAddress(ip);
        expect(verdict === null || typeof verdict === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isForbiddenAddress, not an address', () => {
  it.each(['', 'localhost', 'example.com', '10.0.0', '256.1.1.1', '1:2:3', '[::1]', '::1::', 'http://127.0.0.1/'])(
    'refuses %j (fail closed)',
    (text) => {
      expect(isForbiddenAddress(text)).toBe('not an IP address');
    },
  );
});
