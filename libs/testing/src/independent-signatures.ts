import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Receivers' checks of our two webhook signatures, written from PRODUCT.md §1 and §2 for the
 * tests alone: they share no code with @reach/webhook-signatures, so a test that signs with the
 * library and verifies here proves the library does what the documents say.
 */

/**
 * `X-Reach-Signature`: base64 HMAC-SHA1, keyed by the API key, over the URL followed by every
 * name+value pair with names sorted. The URL is also tried with the scheme's default port made
 * explicit or removed, as the official validators do.
 */
export function independentReachSignatureIsValid(apiKey: string, signature: string, url: string, params: Readonly<Record<string, string>>): boolean {
  const candidates = new Set([url]);
  const parsed = new URL(url);
  const defaultPort = parsed.protocol === 'https:' ? '443' : '80';
  if (parsed.port === '') candidates.add(url.replace(parsed.host, `${parsed.hostname}:${defaultPort}`));
  else if (parsed.port === defaultPort) candidates.add(url.replace(`:${defaultPort}`, ''));
  const given = Buffer.from(signature, 'base64');
  let valid = false;
  for (const candidate of candidates) {
    let data = candidate;
    for (const name of Object.keys(params).sort()) data += name + params[name];
    const expected = createHmac('sha1', Buffer.from(apiKey, 'utf8')).update(Buffer.from(data, 'utf8')).digest();
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid;
}

/** `X-ReachCell-Signature`: `sha256=` + hex HMAC-SHA256 over the raw body, keyed by SHA-256(secret). */
export function independentReachCellSignatureIsValid(secret: string, header: string, rawBody: string): boolean {
  if (!header.startsWith('sha256=')) return false;
  const key = createHash('sha256').update(Buffer.from(secret, 'utf8')).digest();
  const expected = createHmac('sha256', key).update(Buffer.from(rawBody, 'utf8')).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
