import { MoReassembler, concatenationInfo } from './mo-reassembly';

describe('concatenationInfo', () => {
  it('reads the 8-bit and 16-bit reference IEs and ignores others', () => {
    expect(concatenationInfo([Buffer.from([0x00, 3, 7, 2, 1])])).toEqual({ reference: 7, total: 2, seq: 1 });
    expect(concatenationInfo([Buffer.from([0x24, 1, 1]), Buffer.from([0x08, 4, 0x01, 0x02, 3, 3])])).toEqual({ reference: 0x102, total: 3, seq: 3 });
    expect(concatenationInfo([Buffer.from([0x24, 1, 1])])).toBeNull();
    expect(concatenationInfo(undefined)).toBeNull();
  });
});

describe('MoReassembler', () => {
  it('joins parts in sequence order whatever the arrival order', () => {
    const r = new MoReassembler(60_000);
    expect(r.add('a>b', { reference: 1, total: 3, seq: 2 }, 'B', 0)).toBeNull();
    expect(r.add('a>b', { reference: 1, total: 3, seq: 3 }, 'C', 1)).toBeNull();
    expect(r.add('c>b', { reference: 1, total: 2, seq: 1 }, 'x', 1)).toBeNull();
    expect(r.add('a>b', { reference: 1, total: 3, seq: 1 }, 'A', 2)).toBe('ABC');
    expect(r.size).toBe(1);
  });

  it('forgets incomplete messages after the ttl', () => {
    const r = new MoReassembler(1000);
    r.add('k', { reference: 9, total: 2, seq: 1 }, 'A', 0);
    expect(r.add('k', { reference: 9, total: 2, seq: 2 }, 'B', 5000)).toBeNull();
    expect(r.size).toBe(1);
  });
});
