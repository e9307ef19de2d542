import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys are 40 base62 characters drawn from the CSPRNG (40 · log2(62) ≈ 238 bits) behind the
 * `ak_` prefix the ReachCell dialect shows. Because they are high-entropy random strings, a fast
 * unsalted SHA-256 is the right storage hash: there is nothing to brute-force, and the digest can
 * be looked up by equality. The plaintext is shown once, at creation, and never stored.
 */
export const API_KEY_PREFIX = 'ak_';
const API_KEY_BODY_LENGTH = 40;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The largest multiple of 62 that fits in a byte: bytes at or above it are rejected, so no bias. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % BASE62.length);
const API_KEY_PATTERN = /^ak_[0-9A-Za-z]{40}$/;
/** How much of a key is kept in clear for display (`ak_` + 7 characters, about 41 bits). */
export const API_KEY_DISPLAY_PREFIX_LENGTH = 10;

export function generateApiKey(): string {
  let body = '';
  while (body.length < API_KEY_BODY_LENGTH) {
    for (const byte of randomBytes(API_KEY_BODY_LENGTH)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      body += BASE62[byte % BASE62.length];
      if (body.length === API_KEY_BODY_LENGTH) break;
    }
  }
  return `${API_KEY_PREFIX}${body}`;
}

/** True when `key` has the shape `generateApiKey` produces; anything else cannot be a valid key. */
export function isApiKeyFormat(key: string): boolean {
  return API_KEY_PATTERN.test(key);
}

/** The 32-byte SHA-256 digest stored in `api_keys.key_hash`. */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The non-secret beginning of a key, stored so people can tell their keys apart. */
export function apiKeyDisplayPrefix(key: string): string {
  return key.slice(0, API_KEY_DISPLAY_PREFIX_LENGTH);
}

/** The Reach dialect's `ApiUser`: `AID` followed by 24 uppercase hex characters (96 random bits). */
export function generateApiUser(): string {
  return `AID${randomBytes(12).toString('hex').toUpperCase()}`;
}

export function isApiUserFormat(apiUser: string): boolean {
  return /^AID[0-9A-F]{24}$/.test(apiUser);
}
