import { reachErrorCodes } from '@reach/message-domain';
import { ApiError } from '../http/api-error';

/** Which dialect a request speaks, from its path: the Reach API lives under `/rest/`. */
export type Dialect = 'reachcell' | 'reach';

export function dialectOf(url: string): Dialect {
  return url.startsWith('/rest/') ? 'reach' : 'reachcell';
}

/**
 * Reach `errorCode`s for the idempotency answers. They are ours (PRODUCT.md lists none), numbered
 * like `notFound` 20404 and `tooManyRequests` 20429 in reach-errors.ts: 20 + the HTTP status
 * the other dialect gives the same condition.
 */
export const idempotencyReachCodes = {
  /** Same Idempotency-Key, different request: HTTP 400 in the Reach dialect (422 in ReachCell). */
  keyReused: 20422,
  /** The first request with this key has not finished yet: HTTP 409 in both dialects. */
  requestInProgress: 20409,
} as const;

/** How long a client is asked to wait before retrying a 429 or a 409 `request_in_progress`. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * The limits' errors. Each carries its ReachCell `code` and its Reach `reachCode`; the dialect's
 * error filter renders them. `details.retryAfterSeconds` is what the ReachCell filter turns into
 * Retry-After (the interceptors also set the header on the reply themselves).
 */
export const limitsErrors = {
  tooManyRequests: (retryAfterSeconds = RETRY_AFTER_SECONDS) =>
    new ApiError(
      429,
      'rate_limited',
      `Too many concurrent requests for this account; retry after ${retryAfterSeconds} s`,
      { retryAfterSeconds },
      reachErrorCodes.tooManyRequests.code,
    ),
  invalidIdempotencyKey: () =>
    new ApiError(
      400,
      'invalid_idempotency_key',
      'Idempotency-Key must be 1 to 255 printable ASCII characters',
      null,
      reachErrorCodes.missingRequestData.code,
    ),
  idempotencyKeyReused: (dialect: Dialect) =>
    new ApiError(
      dialect === 'reach' ? 400 : 422,
      'idempotency_key_reused',
      'This Idempotency-Key was already used with a different request; use a new key for a new request',
      null,
      idempotencyReachCodes.keyReused,
    ),
  requestInProgress: (retryAfterSeconds = RETRY_AFTER_SECONDS) =>
    new ApiError(
      409,
      'request_in_progress',
      'A request with this Idempotency-Key is still being processed; retry shortly to get its answer',
      { retryAfterSeconds },
      idempotencyReachCodes.requestInProgress,
    ),
};
