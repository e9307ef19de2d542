import { TokenBucket, backoffDelay } from './token-bucket';

describe('TokenBucket', () => {
  it('gives the burst at once, then one token per 1/rate seconds', () => {
    const bucket = new TokenBucket(10, 2, 0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(100);
    expect(bucket.take(50)).toBe(50);
    expect(bucket.take(100)).toBe(0);
  });

  it('never holds more than the burst after idling', () => {
    const bucket = new TokenBucket(100, 5, 0);
    let granted = 0;
    while (bucket.take(60_000) === 0) granted += 1;
    expect(granted).toBe(5);
  });

  it('admits at most rate + burst in any one second', () => {
    const bucket = new TokenBucket(50, 5, 0);
    let granted = 0;
    for (let t = 0; t <= 1000; t += 1) while (bucket.take(t) === 0) granted += 1;
    expect(granted).toBeLessThanOrEqual(56);
    expect(granted).toBeGreaterThanOrEqual(50);
  });
});

describe('backoffDelay', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 5000 };
  it('grows exponentially between half and all of the capped delay', () => {
    expect(backoffDelay(policy, 0, 0)).toBe(50);
    expect(backoffDelay(policy, 0, 0.999)).toBeLessThanOrEqual(100);
    expect(backoffDelay(policy, 3, 0)).toBe(400);
    expect(backoffDelay(policy, 20, 0.5)).toBe(3750);
    expect(backoffDelay(policy, 1000, 0.99)).toBeLessThanOrEqual(5000);
  });
});
