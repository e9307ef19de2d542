import { createHash, createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time-equal';

/** POST parameters as received: a repeated name arrives as an array. */
export type ReachSignatureParams = Readonly<Record<string, string | readonly string[]>>;

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * `X-Reach-Signature` (PRODUCT.md §2), byte-for-byte Twilio's `X-Twilio-Signature`:
 * base64(HMAC-SHA1(apiKey, url + name1 + value1 + name2 + value2 …)) with names sorted by
 * UTF-16 code unit (`Array.prototype.sort`), no separators and no URL-encoding. An array value
 * is de-duplicated and sorted, and contributes `name + v` for each of its values.
 */
export function reachSignature(apiKey: string, url: string, params: ReachSignatureParams): string {
  const hmac = createHmac('sha1', apiKey);
  hmac.update(url, 'utf8');
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : [...new Set(value)].sort();
    for (const v of values) hmac.update(name + v, 'utf8');
  }
  return hmac.digest('base64');
}

/**
 * Twilio's validator accepts the signature over the URL as given, with the scheme's default
 * port made explicit, and with the port removed, because senders disagree on which form they
 * sign. Every candidate is compared in constant time; the comparison never throws.
 */
export function validateReachSignature(
  apiKey: string,
  signature: string | null | undefined,
  url: string,
  params: ReachSignatureParams,
): boolean {
  if (typeof signature !== 'string') return false;
  const received = Buffer.from(signature, 'utf8');
  let valid = false;
  for (const candidate of urlPortVariants(url)) {
    // No early exit: the work done does not depend on which variant matched.
    const expected = Buffer.from(reachSignature(apiKey, candidate, params), 'utf8');
    if (constantTimeEqual(expected, received)) valid = true;
  }
  return valid;
}

/** hex(SHA-256(raw body)), the value carried by `bodySHA256`. A string body is taken as UTF-8. */
export function reachBodySha256(rawBody: string | Buffer): string {
  return createHash('sha256').update(rawBody).digest('hex');
}

/** The URL a JSON-body sender signs: `url` with `bodySHA256=<hex>` appended to its query. */
export function reachSignedUrlForBody(url: string, rawBody: string | Buffer): string {
  const hashAt = url.indexOf('#');
  const beforeFragment = hashAt === -1 ? url : url.slice(0, hashAt);
  const fragment = hashAt === -1 ? '' : url.slice(hashAt);
  // Only the first '?' starts the query; a later one is part of it (`?a?` has the parameter `a?`).
  const queryAt = beforeFragment.indexOf('?');
  const separator = queryAt === -1 ? '?' : queryAt === beforeFragment.length - 1 || beforeFragment.endsWith('&') ? '' : '&';
  return `${beforeFragment}${separator}bodySHA256=${reachBodySha256(rawBody)}${fragment}`;
}

/**
 * JSON-body variant (Twilio's `validateRequestWithBody`): the signature covers the URL alone
 * (no params) and the URL's `bodySHA256` must equal hex(SHA-256(raw body)). A URL without
 * `bodySHA256` is not valid for this variant.
 */
export function validateReachBody(
  apiKey: string,
  signature: string | null | undefined,
  url: string,
  rawBody: string | Buffer,
): boolean {
  const claimed = queryParam(url, 'bodySHA256');
  const signatureOk = validateReachSignature(apiKey, signature, url, {});
  if (claimed === undefined) return false;
  const bodyOk = constantTimeEqual(
    Buffer.from(reachBodySha256(rawBody), 'utf8'),
    Buffer.from(claimed.toLowerCase(), 'utf8'),
  );
  return signatureOk && bodyOk;
}

/** The URL as given, then with the default port added or any explicit port removed. */
function urlPortVariants(url: string): string[] {
  const parsed = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(url);
  if (!parsed) return [url];
  const [, scheme = '', authority = '', rest = ''] = parsed;
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at + 1);
  const hostPort = authority.slice(at + 1);
  const { host, port } = splitPort(hostPort);
  const variants = [url];
  if (port !== undefined) {
    variants.push(`${scheme}://${userinfo}${host}${rest}`);
  } else {
    const defaultPort = DEFAULT_PORTS[scheme.toLowerCase()];
    if (defaultPort !== undefined) variants.push(`${scheme}://${userinfo}${host}:${defaultPort}${rest}`);
  }
  return [...new Set(variants)];
}

/** `host:port` → host and port; the colons inside an IPv6 literal (`[::1]`) are not a port. */
function splitPort(hostPort: string): { host: string; port: string | undefined } {
  const colon = hostPort.lastIndexOf(':');
  if (colon === -1 || colon < hostPort.lastIndexOf(']')) return { host: hostPort, port: undefined };
  return { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
}

/** First value of `name` in the URL's query string, form-decoded (undefined when absent). */
function queryParam(url: string, name: string): string | undefined {
  const queryAt = url.indexOf('?');
  if (queryAt === -1) return undefined;
  const hashAt = url.indexOf('#', queryAt);
  const query = url.slice(queryAt + 1, hashAt === -1 ? undefined : hashAt);
  return new URLSearchParams(query).get(name) ?? undefined;
}
