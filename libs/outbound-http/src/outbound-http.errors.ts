/**
 * The ways a delivery can fail before an HTTP status is known, each with a stable `code`.
 * An HTTP answer of any status (including 3xx, 4xx and 5xx) is not an error here: `deliver`
 * returns it and the caller decides what it means for retries.
 */
export type OutboundHttpErrorCode = 'INVALID_DESTINATION_URL' | 'FORBIDDEN_DESTINATION' | 'DELIVERY_TIMEOUT' | 'DELIVERY_CONNECTION_FAILED';

/** The URL is not an absolute http(s) URL; retrying cannot help. */
export class InvalidDestinationUrlError extends Error {
  readonly code = 'INVALID_DESTINATION_URL';
  override readonly name = 'InvalidDestinationUrlError';

  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`Refusing to deliver to ${url}: ${reason}`);
  }
}

/**
 * The host is, or resolves to, an address webhooks may not reach (see `isForbiddenAddress`).
 * Nothing was sent. Retrying is pointless unless the customer changes the URL or their DNS.
 */
export class ForbiddenDestinationError extends Error {
  readonly code = 'FORBIDDEN_DESTINATION';
  override readonly name = 'ForbiddenDestinationError';

  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`Refusing to connect to ${host} (${address}): ${reason}`);
  }
}

/** The delivery did not complete in time; `phase` says whether the connection was ever made. */
export class DeliveryTimeoutError extends Error {
  readonly code = 'DELIVERY_TIMEOUT';
  override readonly name = 'DeliveryTimeoutError';

  constructor(
    readonly url: string,
    readonly phase: 'connect' | 'total',
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`Delivery to ${url} timed out (${phase}, ${timeoutMs} ms)`, options);
  }
}

/** Name resolution, connection, TLS or the HTTP exchange failed; `cause` is the underlying error. */
export class DeliveryConnectionError extends Error {
  readonly code = 'DELIVERY_CONNECTION_FAILED';
  override readonly name = 'DeliveryConnectionError';

  constructor(
    readonly url: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Delivery to ${url} failed: ${detail}`, options);
  }
}

export type OutboundHttpError = InvalidDestinationUrlError | ForbiddenDestinationError | DeliveryTimeoutError | DeliveryConnectionError;

export function isOutboundHttpError(error: unknown): error is OutboundHttpError {
  return (
    error instanceof InvalidDestinationUrlError ||
    error instanceof ForbiddenDestinationError ||
    error instanceof DeliveryTimeoutError ||
    error instanceof DeliveryConnectionError
  );
}
