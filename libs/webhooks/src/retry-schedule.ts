/**
 * When a failed delivery is tried again: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and
 * 24 h after each failed attempt, so one delivery gets ten attempts over roughly three days.
 * Each wait is jittered by ±10 % so that deliveries that failed together (an endpoint's outage)
 * do not all come back in the same second.
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  14 * 3_600_000,
  20 * 3_600_000,
  24 * 3_600_000,
];

export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
const JITTER = 0.1;
/** A Retry-After longer than the longest scheduled wait is capped there. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

export interface RetryTiming {
  /**
   * Multiplies every wait (1 in production). Tests and benchmarks shrink the schedule with it,
   * e.g. 0.001 turns 5 s into 5 ms and 24 h into 86 s.
   */
  readonly timeScale: number;
  /** A number in [0, 1); `Math.random` in production, fixed in tests. */
  readonly random: () => number;
}

/**
 * The wait before the next attempt after `attemptsMade` failed attempts, or null when the
 * schedule is used up. A Retry-After from the endpoint replaces the scheduled wait (it is the
 * endpoint telling us when it can take the call), capped at 24 h; it is scaled but not jittered.
 */
export function nextRetryDelayMs(attemptsMade: number, retryAfterMs: number | null, timing: RetryTiming): number | null {
  if (attemptsMade < 1 || attemptsMade >= MAX_ATTEMPTS) return null;
  if (retryAfterMs !== null) return Math.round(Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) * timing.timeScale);
  const base = RETRY_DELAYS_MS[attemptsMade - 1] ?? 0;
  const factor = 1 - JITTER + 2 * JITTER * timing.random();
  return Math.round(base * factor * timing.timeScale);
}

/**
 * Retry-After as delay-seconds or an HTTP date, in milliseconds from `now`; null when absent or
 * unreadable. A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: Date): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}
