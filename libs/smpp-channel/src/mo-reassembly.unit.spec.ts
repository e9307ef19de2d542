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
  it('joins parts in sequence order whatever the arrival order, with every part token', () => {
    const r = new MoReassembler<string>(60_000);
    expect(r.add('a>b', { reference: 1, total: 3, seq: 2 }, 'B', 0, 't2')).toBeNull();
    expect(r.add('a>b', { reference: 1, total: 3, seq: 3 }, 'C', 1, 't3')).toBeNull();
    expect(r.add('c>b', { reference: 1, total: 2, seq: 1 }, 'x', 1, 'other')).toBeNull();
    expect(r.add('a>b', { reference: 1, total: 3, seq: 1 }, 'A', 2, 't1')).toEqual({ text: 'ABC', tokens: ['t2', 't3', 't1'], firstSeen: 0 });
    expect(r.size).toBe(1);
  });

  it('keeps a repeated part once in the text but hands back both tokens', () => {
    const r = new MoReassembler<string>(60_000);
    r.add('k', { reference: 4, total: 2, seq: 1 }, 'A', 0, 'first');
    r.add('k', { reference: 4, total: 2, seq: 1 }, 'A', 5, 'again');
    expect(r.add('k', { reference: 4, total: 2, seq: 2 }, 'B', 6, 'second')).toEqual({ text: 'AB', tokens: ['first', 'again', 'second'], firstSeen: 0 });
  });

  it('forgets incomplete messages after the ttl and releases their tokens', () => {
    const r = new MoReassembler<string>(1000);
    r.add('k', { reference: 9, total: 2, seq: 1 }, 'A', 0, 'old');
    expect(r.add('k', { reference: 9, total: 2, seq: 2 }, 'B', 5000, 'new')).toBeNull();
    expect(r.size).toBe(1);
    expect(r.releaseStale(5001, 60_000)).toEqual(['old']);
    expect(r.heldTokens).toBe(1);
  });

  it('releases the tokens of parts held longer than the hold time, once, and still completes the message', () => {
    const r = new MoReassembler<string>(60_000);
    r.add('k', { reference: 1, total: 2, seq: 1 }, 'A', 0, 't1');
    expect(r.releaseStale(500, 1000)).toEqual([]);
    expect(r.releaseStale(1000, 1000)).toEqual(['t1']);
    expect(r.releaseStale(2000, 1000)).toEqual([]);
    expect(r.add('k', { reference: 1, total: 2, seq: 2 }, 'B', 2500, 't2')).toEqual({ text: 'AB', tokens: ['t2'], firstSeen: 0 });
  });

  it('passes a part with an impossible sequence through as a message of its own', () => {
    const r = new MoReassembler<string>(60_000);
    expect(r.add('k', { reference: 1, total: 2, seq: 3 }, 'odd', 7, 't')).toEqual({ text: 'odd', tokens: ['t'], firstSeen: 7 });
  });
});
