import { randomUUID } from 'node:crypto';
import { isValidCorrelationId } from '@reach/telemetry';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * The request's correlation id: the client's `X-Request-Id` when it is usable (printable ASCII,
 * at most 128 characters after trimming), otherwise a fresh UUID. It is answered in the
 * response's `X-Request-Id`, logged on every line about the request and stored in the metadata
 * of the events the request appends, so later hops log it too. An unusable header is replaced,
 * not refused: it is a diagnostic aid, never a reason to fail a send.
 */
export function requestIdOf(header: string | string[] | undefined, generate: () => string = randomUUID): string {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  return isValidCorrelationId(value) ? value : generate();
}
