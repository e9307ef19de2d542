import { createHash, createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time-equal';

const PREFIX = 'sha256=';
const HEADER_PATTERN = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * `X-ReachCell-Signature` (PRODUCT.md §1): `sha256=` + hex(HMAC-SHA256(raw body)), keyed with
 * the raw 32-byte SHA-256 digest of the webhook secret (not the secret itself). A string body
 * is taken as UTF-8; sign the exact bytes that are sent.
 */
export function reachCellSignature(secret: string, rawBody: string | Buffer): string {
  return PREFIX + reachCellDigest(secret, rawBody).toString('hex');
}

/**
 * True only for a well-formed `sha256=<64 hex>` header matching the body. A missing, garbled,
 * wrongly prefixed or wrong-length header is `false`, never an exception; the digest itself
 * is compared in constant time.
 */
export function validateReachCellSignature(
  secret: string,
  header: string | null | undefined,
  rawBody: string | Buffer,
): boolean {
  if (typeof header !== 'string') return false;
  const hex = HEADER_PATTERN.exec(header.trim())?.[1];
  if (hex === undefined) return false;
  return constantTimeEqual(reachCellDigest(secret, rawBody), Buffer.from(hex, 'hex'));
}

/**
 * The same header from the stored signing key, SHA-256(secret), for a sender that keeps only
 * that digest and never the secret.
 */
export function reachCellSignatureWithKey(signingKey: Buffer, rawBody: string | Buffer): string {
  return PREFIX + createHmac('sha256', signingKey).update(rawBody).digest('hex');
}

function reachCellDigest(secret: string, rawBody: string | Buffer): Buffer {
  const key = createHash('sha256').update(secret, 'utf8').digest();
  return createHmac('sha256', key).update(rawBody).digest();
}
