import fc from 'fast-check';
import { isFinalOutcome, verdictForStatus } from './attempt-outcome';

describe('verdictForStatus', () => {
  it.each([200, 201, 202, 204, 226, 299])('%i is a success', (status) => {
    expect(verdictForStatus(status, null)).toEqual({ outcome: 'succeeded' });
    // A Retry-After on a success means nothing.
    expect(verdictForStatus(status, 5_000)).toEqual({ outcome: 'succeeded' });
  });

  it('410 Gone stops the endpoint, whatever Retry-After says', () => {
    expect(verdictForStatus(410, null)).toEqual({ outcome: 'endpoint_gone' });
    expect(verdictForStatus(410, 60_000)).toEqual({ outcome: 'endpoint_gone' });
  });

  // Redirects are never followed, and a 404 or 500 during a receiver's deploy must not lose the delivery.
  it.each([100, 199, 300, 301, 302, 307, 308, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 599])(
    '%i is retried',
    (status) => {
      expect(verdictForStatus(status, null)).toEqual({ outcome: 'retry', retryAfterMs: null });
    },
  );

  it('passes Retry-After through on a retried answer', () => {
    expect(verdictForStatus(429, 30_000)).toEqual({ outcome: 'retry', retryAfterMs: 30_000 });
    expect(verdictForStatus(503, 0)).toEqual({ outcome: 'retry', retryAfterMs: 0 });
    expect(verdictForStatus(301, 1_000)).toEqual({ outcome: 'retry', retryAfterMs: 1_000 });
  });

  it('property: exactly the 2xx range succeeds, only 410 is gone, everything else is retried with its Retry-After', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.option(fc.nat()), (status, retryAfterMs) => {
        const verdict = verdictForStatus(status, retryAfterMs);
        if (status >= 200 && status <= 299) expect(verdict).toEqual({ outcome: 'succeeded' });
        else if (status === 410) expect(verdict).toEqual({ outcome: 'endpoint_gone' });
        else expect(verdict).toEqual({ outcome: 'retry', retryAfterMs });
      }),
    );
  });
});

describe('isFinalOutcome', () => {
  it('only a retry leaves the delivery open', () => {
    expect(isFinalOutcome('retry')).toBe(false);
    expect(isFinalOutcome('succeeded')).toBe(true);
    expect(isFinalOutcome('failed')).toBe(true);
    expect(isFinalOutcome('endpoint_gone')).toBe(true);
  });
});
