import fc from 'fast-check';
import { overageCost } from './billing';

const terms = { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 };

describe('overageCost', () => {
  it('is null while the whole message fits in the allowance', () => {
    expect(overageCost(terms, 0, 1)).toBeNull();
    expect(overageCost(terms, 997, 3)).toBeNull();
    expect(overageCost(terms, 999, 1)).toBeNull();
  });

  it('charges only the segments beyond the allowance when a message straddles it', () => {
    expect(overageCost(terms, 998, 3)).toBe(0.0075);
    expect(overageCost(terms, 999, 4)).toBe(0.0225);
  });

  it('charges every segment once the allowance is used up', () => {
    expect(overageCost(terms, 1000, 1)).toBe(0.0075);
    expect(overageCost(terms, 5000, 10)).toBe(0.075);
  });

  it('charges every segment with no allowance at all', () => {
    expect(overageCost({ monthlyAllowanceSegments: 0, overagePricePerSegmentUsd: 0.0079 }, 0, 3)).toBe(0.0237);
  });

  it('rounds to 6 decimals, halves up', () => {
    expect(overageCost({ monthlyAllowanceSegments: 0, overagePricePerSegmentUsd: 0.0000005 }, 0, 1)).toBe(0.000001);
    expect(overageCost({ monthlyAllowanceSegments: 0, overagePricePerSegmentUsd: 0.0000004 }, 0, 1)).toBe(0);
    expect(overageCost({ monthlyAllowanceSegments: 0, overagePricePerSegmentUsd: 1 / 3 }, 0, 2)).toBe(0.666667);
  });

  it('is 0, not null, beyond the allowance when overage is free', () => {
    expect(overageCost({ monthlyAllowanceSegments: 10, overagePricePerSegmentUsd: 0 }, 10, 2)).toBe(0);
  });

  it('is null for a message of no segments', () => {
    expect(overageCost(terms, 5000, 0)).toBeNull();
  });

  it.each([
    [{ ...terms, monthlyAllowanceSegments: -1 }, 0, 1],
    [{ ...terms, monthlyAllowanceSegments: 1.5 }, 0, 1],
    [{ ...terms, overagePricePerSegmentUsd: -0.01 }, 0, 1],
    [{ ...terms, overagePricePerSegmentUsd: Number.NaN }, 0, 1],
    [terms, -1, 1],
    [terms, 0, 1.5],
    [terms, 0, Number.POSITIVE_INFINITY],
  ])('refuses nonsense input %j, %d, %d', (t, before, segments) => {
    expect(() => overageCost(t, before, segments)).toThrow(RangeError);
  });

  it('charges the segments beyond the allowance, no more, no fewer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 1_000_000 }).map((micros) => micros / 1e6),
        (allowance, before, segments, price) => {
          const cost = overageCost({ monthlyAllowanceSegments: allowance, overagePricePerSegmentUsd: price }, before, segments);
          const beyond = Math.min(segments, Math.max(0, before + segments - allowance));
          if (beyond === 0) expect(cost).toBeNull();
          else expect(cost).toBeCloseTo(beyond * price, 6);
        },
      ),
    );
  });
});
