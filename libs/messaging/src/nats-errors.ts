/**
 * Recognising the errors the nats client raises. JetStream API error codes (`err_code` in the
 * server's JSON error) are the stable way to tell "not found" and "already exists" apart from
 * real failures; descriptions change between server versions.
 */
export const JetStreamErrorCode = {
  streamNotFound: 10059,
  streamNameInUse: 10058,
  consumerNotFound: 10014,
  consumerNameInUse: 10013,
  consumerAlreadyExists: 10148,
} as const;

export function jetStreamErrorCode(error: unknown): number | null {
  if (typeof error !== 'object' || error === null || !('api_error' in error)) return null;
  const apiError: unknown = error.api_error;
  if (typeof apiError !== 'object' || apiError === null || !('err_code' in apiError)) return null;
  return typeof apiError.err_code === 'number' ? apiError.err_code : null;
}

export function isStreamNotFound(error: unknown): boolean {
  return jetStreamErrorCode(error) === JetStreamErrorCode.streamNotFound || messageOf(error) === 'stream not found';
}

export function isConsumerNotFound(error: unknown): boolean {
  return jetStreamErrorCode(error) === JetStreamErrorCode.consumerNotFound || messageOf(error) === 'consumer not found';
}

/** Another process created the same stream or consumer between our lookup and our create. */
export function isAlreadyExists(error: unknown): boolean {
  const code = jetStreamErrorCode(error);
  if (
    code === JetStreamErrorCode.streamNameInUse ||
    code === JetStreamErrorCode.consumerNameInUse ||
    code === JetStreamErrorCode.consumerAlreadyExists
  ) {
    return true;
  }
  const message = messageOf(error) ?? '';
  return /already in use|already exists/i.test(message);
}

export function messageOf(error: unknown): string | null {
  return error instanceof Error ? error.message : null;
}

/** The connection was closed (by us or for good): retrying on it is pointless. */
export function isClosedConnectionError(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'CONNECTION_CLOSED';
}
