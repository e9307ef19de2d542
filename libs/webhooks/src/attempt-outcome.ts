import type { AttemptOutcome } from '@reach/database';

/** What one attempt's result means for the delivery. */
export type AttemptVerdict =
  | { readonly outcome: 'succeeded' }
  /** Try again on the schedule (or after Retry-After). */
  | { readonly outcome: 'retry'; readonly retryAfterMs: number | null }
  /** 410 Gone: the endpoint asked us to stop; it is disabled. */
  | { readonly outcome: 'endpoint_gone' }
  /** Retrying cannot help (the URL is invalid or points at a forbidden network). */
  | { readonly outcome: 'failed' };

/**
 * 2xx is success. 410 stops the endpoint. Every other answer, redirects included (they are
 * never followed), and every timeout or connection error is a failed attempt that is retried:
 * a 404 or 500 during a receiver's deploy must not lose the delivery. A Retry-After on any
 * failed answer (usually 429 or 503) sets the wait.
 */
export function verdictForStatus(status: number, retryAfterMs: number | null): AttemptVerdict {
  if (status >= 200 && status < 300) return { outcome: 'succeeded' };
  if (status === 410) return { outcome: 'endpoint_gone' };
  return { outcome: 'retry', retryAfterMs };
}

export function isFinalOutcome(outcome: AttemptOutcome): boolean {
  return outcome !== 'retry';
}
