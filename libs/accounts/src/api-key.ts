import { createHash, createHmac, randomBytes } from 'node:crypto';
import { AccountsError } from './accounts.errors';

/**
 * API keys are `ak_` + 40 base62 characters (40 · log2(62) ≈ 238 bits), the shape the ReachCell
 * dialect shows.
 *
 * They are derived, not drawn: key = base62(HMAC-SHA256(platform secret, "reach-api-key:v1:<key id>:<n>")),
 * where the platform secret is `REACH_API_KEY_SECRET` and the key id is the `api_keys` row's id.
 * Why: Reach status callbacks are signed with the account's API key (`X-Reach-Signature`,
 * PRODUCT.md §2), yet the database keeps only `key_hash` = SHA-256(key). A service that holds the
 * platform secret (reachctl, the callbacks service) can re-create any key from its id; nothing
 * else can.
 *
 * What this guarantees:
 * - The database holds no secret: a leak of it alone (key ids and hashes) reveals no key, because
 *   every key is an HMAC output under a secret the database never sees, and high-entropy keys
 *   make the fast unsalted SHA-256 the right storage hash (nothing to brute-force; looked up by
 *   equality). The plaintext is shown once, at creation.
 * - Whoever holds the platform secret can compute every key: it must be kept like a root
 *   credential, and only the processes that issue keys or sign with them need it.
 * - Rotating (changing) the platform secret invalidates every API key at once: the stored hashes
 *   still authenticate the old keys, but no key can be re-created for signing any more
 *   (`signingApiKey` reports `API_KEY_SECRET_MISMATCH`); issue new keys after a rotation.
 */
export const API_KEY_PREFIX = 'ak_';
const API_KEY_BODY_LENGTH = 40;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The largest multiple of 62 that fits in a byte: bytes at or above it are rejected, so no bias. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % BASE62.length);
const API_KEY_PATTERN = /^ak_[0-9A-Za-z]{40}$/;
/** How much of a key is kept in clear for display (`ak_` + 7 characters, about 41 bits). */
export const API_KEY_DISPLAY_PREFIX_LENGTH = 10;
/** The platform secret must carry at least this much entropy (HMAC-SHA256's full strength). */
export const API_KEY_SECRET_MIN_BYTES = 32;
/** Domain separation: these HMAC outputs can never be mistaken for any other use of the secret. */
const DERIVATION_LABEL = 'reach-api-key:v1';
const KEY_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The API key of key id `keyId` under the platform secret: deterministic, so the callbacks
 * service re-creates exactly the key reachctl printed. Bytes of HMAC blocks 0, 1, … are turned
 * into base62 by rejection sampling (uniform characters); more blocks are taken when the
 * rejected bytes leave too few (two blocks almost always suffice).
 *
 * The key id is a UUID, read case-insensitively like PostgreSQL does, so the same row always
 * yields the same key.
 */
export function deriveApiKey(secret: Buffer, keyId: string): string {
  if (secret.length < API_KEY_SECRET_MIN_BYTES) {
    throw new RangeError(`the API key secret must be at least ${API_KEY_SECRET_MIN_BYTES} bytes (got ${secret.length})`);
  }
  if (!KEY_ID_PATTERN.test(keyId)) throw new RangeError('an API key id is a UUID');
  const id = keyId.toLowerCase();
  let body = '';
  for (let block = 0; body.length < API_KEY_BODY_LENGTH; block += 1) {
    const bytes = createHmac('sha256', secret).update(`${DERIVATION_LABEL}:${id}:${block}`, 'utf8').digest();
    for (const byte of bytes) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      body += BASE62[byte % BASE62.length];
      if (body.length === API_KEY_BODY_LENGTH) break;
    }
  }
  return `${API_KEY_PREFIX}${body}`;
}

const HEX_DIGITS = /^[0-9a-fA-F]+$/;
const HEX_SECRET = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64_SECRET = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL_SECRET = /^[A-Za-z0-9_-]+={0,2}$/;
const invalidSecret = (problem: string) => new AccountsError('INVALID_API_KEY_SECRET', problem);
const SECRET_HELP = `give at least ${API_KEY_SECRET_MIN_BYTES} random bytes as ${API_KEY_SECRET_MIN_BYTES * 2}+ hex characters or as base64/base64url (generate one with: openssl rand -hex 32)`;

/**
 * Reads the platform secret (`REACH_API_KEY_SECRET`, or the file holding it): at least 32 bytes,
 * as hex (64+ digits) or base64/base64url. Text made only of hex digits is always read as hex:
 * it is also valid base64, and every reader (reachctl, the callbacks service) must turn the same
 * text into the same bytes. Surrounding whitespace (a file's trailing newline) is ignored. The
 * error never repeats the text, so it can be logged.
 */
export function parseApiKeySecret(text: string): Buffer {
  const trimmed = text.trim();
  let secret: Buffer;
  if (HEX_DIGITS.test(trimmed)) {
    // Only hex digits: read as hex, even when it would also pass as base64, so a short hex
    // string is refused instead of being mistaken for more bytes than it carries.
    if (!HEX_SECRET.test(trimmed)) throw invalidSecret(`the API key secret has an odd number of hex digits: ${SECRET_HELP}`);
    secret = Buffer.from(trimmed, 'hex');
  } else if (BASE64_SECRET.test(trimmed)) {
    secret = Buffer.from(trimmed, 'base64');
  } else if (BASE64URL_SECRET.test(trimmed)) {
    secret = Buffer.from(trimmed, 'base64url');
  } else {
    throw invalidSecret(`the API key secret is neither hex nor base64: ${SECRET_HELP}`);
  }
  if (secret.length < API_KEY_SECRET_MIN_BYTES) {
    throw invalidSecret(`the API key secret is too short (${secret.length} bytes): ${SECRET_HELP}`);
  }
  if (secret.every((byte) => byte === secret[0])) {
    throw invalidSecret(`the API key secret repeats a single byte, which is not a secret: ${SECRET_HELP}`);
  }
  return secret;
}

/** True when `key` has the shape `deriveApiKey` produces; anything else cannot be a valid key. */
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
