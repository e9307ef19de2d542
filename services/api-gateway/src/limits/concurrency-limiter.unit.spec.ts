import fc from 'fast-check';
import { ConcurrencyLimiter } from './concurrency-limiter';

describe('ConcurrencyLimiter', () => {
  it('gives an account up to `limit` slots and refuses the next', () => {
    const limiter = new ConcurrencyLimiter(3);
    const slots = [limiter.tryAcquire('a'), limiter.tryAcquire('a'), limiter.tryAcquire('a')];
    expect(slots.every((s) => s !== null)).toBe(true);
    expect(limiter.tryAcquire('a')).toBeNull();
    expect(limiter.inFlightFor('a')).toBe(3);
  });

  it('counts accounts separately', () => {
    const limiter = new ConcurrencyLimiter(1);
    expect(limiter.tryAcquire('a')).not.toBeNull();
    expect(limiter.tryAcquire('b')).not.toBeNull();
    expect(limiter.tryAcquire('a')).toBeNull();
    expect(limiter.tryAcquire('b')).toBeNull();
  });

  it('frees a slot on release, and a second release of the same slot frees nothing more', () => {
    const limiter = new ConcurrencyLimiter(2);
    const first = limiter.tryAcquire('a')!;
    limiter.tryAcquire('a');
    expect(limiter.tryAcquire('a')).toBeNull();
    first();
    first();
    expect(limiter.inFlightFor('a')).toBe(1);
    expect(limiter.tryAcquire('a')).not.toBeNull();
    expect(limiter.tryAcquire('a')).toBeNull();
  });

  it('forgets an account once nothing of it is in flight', () => {
    const limiter = new ConcurrencyLimiter(5);
    const releases = [limiter.tryAcquire('a')!, limiter.tryAcquire('a')!];
    expect(limiter.activeAccounts).toBe(1);
    releases.forEach((release) => release());
    expect(limiter.activeAccounts).toBe(0);
    expect(limiter.inFlightFor('a')).toBe(0);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(RangeError);
    expect(() => new ConcurrencyLimiter(1.5)).toThrow(RangeError);
  });

  it('never exceeds the limit and returns to zero, whatever the order of acquires and releases', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ account: fc.constantFrom('a', 'b'), acquire: fc.boolean(), pick: fc.nat(), twice: fc.boolean() }), { maxLength: 60 }),
        (limit, steps) => {
          const limiter = new ConcurrencyLimiter(limit);
          const held: { account: string; release: () => void }[] = [];
          for (const step of steps) {
            if (step.acquire || held.length === 0) {
              const before = limiter.inFlightFor(step.account);
              const release = limiter.tryAcquire(step.account);
              expect(release === null).toBe(before >= limit);
              if (release) held.push({ account: step.account, release });
            } else {
              const [slot] = held.splice(step.pick % held.length, 1);
              slot!.release();
              if (step.twice) slot!.release();
            }
            for (const account of ['a', 'b']) {
              const count = held.filter((h) => h.account === account).length;
              expect(limiter.inFlightFor(account)).toBe(count);
              expect(count).toBeLessThanOrEqual(limit);
            }
          }
          held.forEach((h) => h.release());
          expect(limiter.activeAccounts).toBe(0);
        },
      ),
    );
  });
});
