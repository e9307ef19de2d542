import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
import {
  DeliveryConnectionError,
  DeliveryTimeoutError,
  ForbiddenDestinationError,
  InvalidDestinationUrlError,
} from './outbound-http.errors';
import type { SafeDispatcher } from './safe-dispatcher';

export const DEFAULT_DELIVERY_TIMEOUT_MS = 15_000;
/** How much of the answer's body is kept: enough to show the customer why their endpoint refused. */
export const RESPONSE_BODY_LIMIT_BYTES = 4096;

export interface DeliveryRequest {
  readonly method: 'POST' | 'PUT' | 'GET';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Total budget: connect, send, answer and the first 4 KiB of the body. Defaults to 15 s. */
  readonly timeoutMs?: number;
  readonly dispatcher: SafeDispatcher;
  /** Monotonic clock in milliseconds, for `latencyMs`; defaults to `performance.now`. */
  readonly now?: () => number;
}

export interface DeliveryResponse {
  readonly status: number;
  readonly headers: Readonly<Dispatcher.ResponseData['headers']>;
  /** The first `RESPONSE_BODY_LIMIT_BYTES` of the body, decoded as UTF-8; the rest is not read. */
  readonly bodyText: string;
  readonly latencyMs: number;
}

/**
 * Sends one webhook request and returns whatever HTTP answer comes back, any status, as is.
 * Redirects are not followed: a 3xx is returned to the caller (following one would let a public
 * endpoint bounce us to a private one, and would re-send the signed body somewhere else).
 *
 * Throws only the typed errors of `outbound-http.errors.ts`; nothing is retried here.
 */
export async function deliver(url: string, options: DeliveryRequest): Promise<DeliveryResponse> {
  const target = parseDestinationUrl(url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const now = options.now ?? (() => performance.now());
  const signal = AbortSignal.timeout(timeoutMs);
  const startedAt = now();

  // undici 7 only follows redirects through the redirect interceptor, which our dispatcher does
  // not compose; the explicit 0 still wins should one ever be composed in.
  const requestOptions: Parameters<typeof request>[1] & { readonly maxRedirections: 0 } = {
    method: options.method,
    headers: options.headers ?? {},
    body: options.body ?? null,
    signal,
    dispatcher: options.dispatcher,
    maxRedirections: 0,
  };

  try {
    const response = await request(target, requestOptions);
    const bodyText = await readPrefix(response.body, RESPONSE_BODY_LIMIT_BYTES);
    return { status: response.statusCode, headers: response.headers, bodyText, latencyMs: now() - startedAt };
  } catch (error) {
    throw toDeliveryError(error, url, signal, timeoutMs);
  }
}

function parseDestinationUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidDestinationUrlError(url, 'not an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidDestinationUrlError(url, `scheme ${parsed.protocol} is not http or https`);
  }
  return parsed;
}

/** Reads at most `limit` bytes and then drops the connection's remaining body unread. */
async function readPrefix(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    length += chunk.length;
    if (length >= limit) break; // leaving the loop destroys the stream
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
}

const CONNECT_TIMEOUT = 'UND_ERR_CONNECT_TIMEOUT';
const TRANSFER_TIMEOUTS: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function toDeliveryError(error: unknown, url: string, signal: AbortSignal, timeoutMs: number): Error {
  if (error instanceof ForbiddenDestinationError) return error;
  if (signal.aborted) return new DeliveryTimeoutError(url, 'total', timeoutMs, { cause: error });
  const code = errorCode(error);
  if (code === CONNECT_TIMEOUT) return new DeliveryTimeoutError(url, 'connect', timeoutMs, { cause: error });
  if (code !== undefined && TRANSFER_TIMEOUTS.has(code)) return new DeliveryTimeoutError(url, 'total', timeoutMs, { cause: error });
  if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') {
    // A bug or a dispatcher already closed by its owner: not the destination's fault.
    return error instanceof Error ? error : new Error(String(error));
  }
  const detail = error instanceof Error ? (code !== undefined ? `${code}: ${error.message}` : error.message) : String(error);
  return new DeliveryConnectionError(url, detail, { cause: error });
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error as { code: unknown };
  return typeof code === 'string' ? code : undefined;
}
