import fc from 'fast-check';
import { MAX_ATTEMPTS, nextRetryDelayMs, parseRetryAfter, RETRY_DELAYS_MS, type RetryTiming } from './retry-schedule';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** The schedule as documented: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. */
const documentedBaseDelays = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 24 * HOUR];

const timing = (random: number, timeScale = 1): RetryTiming => ({ timeScale, random: () => random });
/** The largest double below 1: `Math.random` never returns 1 itself. */
const almostOne = 1 - Number.EPSILON / 2;

describe('retry schedule', () => {
  it('has the documented base delays and ten attempts in all', () => {
    expect(RETRY_DELAYS_MS).toEqual(documentedBaseDelays);
    expect(MAX_ATTEMPTS).toBe(10);
  });

  it.each(documentedBaseDelays.map((base, index) => [index + 1, base] as const))(
    'after attempt %i waits the base %i ms when the jitter is centred',
    (attemptsMade, base) => {
      expect(nextRetryDelayMs(attemptsMade, null, timing(0.5))).toBe(base);
    },
  );

  it.each(documentedBaseDelays.map((base, index) => [index + 1, base] as const))(
    'after attempt %i jitters within ±10 %% of %i ms: random()=0 gives -10 %%, random()→1 gives +10 %%',
    (attemptsMade, base) => {
      expect(nextRetryDelayMs(attemptsMade, null, timing(0))).toBe(Math.round(base * 0.9));
      const high = nextRetryDelayMs(attemptsMade, null, timing(almostOne));
      expect(high).toBeLessThanOrEqual(Math.round(base * 1.1));
      expect(high).toBeGreaterThanOrEqual(Math.round(base * 1.1) - 1);
    },
  );

  it('gives up after the tenth attempt, and has nothing to say before the first', () => {
    expect(nextRetryDelayMs(9, null, timing(0.5))).toBe(24 * HOUR);
    expect(nextRetryDelayMs(10, null, timing(0.5))).toBeNull();
    expect(nextRetryDelayMs(11, null, timing(0.5))).toBeNull();
    expect(nextRetryDelayMs(10, 1_000, timing(0.5))).toBeNull();
    expect(nextRetryDelayMs(0, null, timing(0.5))).toBeNull();
  });

  it('totals roughly three days over the whole schedule', () => {
    const total = documentedBaseDelays.reduce((sum, delay) => sum + delay, 0);
    expect(total).toBe(75 * HOUR + 35 * MINUTE + 5 * SECOND);
  });

  it('scales every wait by the time scale', () => {
    expect(nextRetryDelayMs(1, null, timing(0.5, 0.001))).toBe(5);
    expect(nextRetryDelayMs(9, null, timing(0.5, 0.001))).toBe(86_400);
    expect(nextRetryDelayMs(4, null, timing(0, 0.5))).toBe(Math.round(2 * HOUR * 0.9 * 0.5));
  });

  describe('Retry-After', () => {
    it('replaces the scheduled wait, without jitter', () => {
      expect(nextRetryDelayMs(1, 120 * SECOND, timing(0))).toBe(120 * SECOND);
      expect(nextRetryDelayMs(1, 120 * SECOND, timing(almostOne))).toBe(120 * SECOND);
      // Shorter than the schedule too: the endpoint said when it can take the call.
      expect(nextRetryDelayMs(8, 0, timing(0.5))).toBe(0);
    });

    it('is capped at 24 h', () => {
      expect(nextRetryDelayMs(1, 24 * HOUR, timing(0.5))).toBe(24 * HOUR);
      expect(nextRetryDelayMs(1, 24 * HOUR + 1, timing(0.5))).toBe(24 * HOUR);
      expect(nextRetryDelayMs(1, 7 * 24 * HOUR, timing(0.5))).toBe(24 * HOUR);
    });

    it('is scaled like the schedule', () => {
      expect(nextRetryDelayMs(1, 120 * SECOND, timing(0.5, 0.001))).toBe(120);
      expect(nextRetryDelayMs(1, 7 * 24 * HOUR, timing(0.5, 0.001))).toBe(86_400);
    });
  });

  it('property: for every attempt 1..9 and random in [0, 1) the wait is within ±10 % of base × scale', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.constantFrom(1, 0.5, 0.01, 0.001),
        (attemptsMade, random, timeScale) => {
          const base = (documentedBaseDelays[attemptsMade - 1] ?? Number.NaN) * timeScale;
          const delay = nextRetryDelayMs(attemptsMade, null, timing(random, timeScale));
          expect(delay).not.toBeNull();
          expect(Number.isInteger(delay)).toBe(true);
          // ±0.5 for the rounding to whole milliseconds.
          expect(delay).toBeGreaterThanOrEqual(base * 0.9 - 0.5);
          expect(delay).toBeLessThanOrEqual(base * 1.1 + 0.5);
        },
      ),
    );
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-11-22T10:00:00.000Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 30 ', now)).toBe(30_000);
  });

  it('reads an HTTP date as the time from now', () => {
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:00 GMT', now)).toBe(24 * HOUR);
  });

  it('reads an HTTP date in the past, or now, as 0', () => {
    expect(parseRetryAfter('Sun, 22 Nov 2026 09:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:00 GMT', now)).toBe(0);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['a word', 'soon'],
    ['negative seconds', '-5'],
    ['fractional seconds', '1.5'],
    ['a bare number with a unit', '10s'],
    ['a date-like string without letters', '2026-11-22'],
    ['an empty list', []],
  ])('is null for %s', (_label, value) => {
    expect(parseRetryAfter(value, now)).toBeNull();
  });

  it('takes the first value of a repeated header', () => {
    expect(parseRetryAfter(['30', '60'], now)).toBe(30_000);
    expect(parseRetryAfter(['Sun, 22 Nov 2026 10:00:10 GMT', '60'], now)).toBe(10_000);
    expect(parseRetryAfter(['garbage', '60'], now)).toBeNull();
  });
});
