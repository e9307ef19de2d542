import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Device tokens are `dt_` + 40 base62 characters drawn from the system CSPRNG (about 238 bits).
 * Unlike API keys they are not derived from anything: nothing needs to re-create a device's
 * token, so it is shown once at creation and only its SHA-256 is stored (`devices.token_hash`).
 * High-entropy tokens make the fast unsalted hash the right storage hash (nothing to
 * brute-force; looked up by equality). The hash is the one `@reach/device-gateway` documents
 * (`hashDeviceToken`: SHA-256 of the UTF-8 token), kept here as bytes for the `bytea` column so
 * accounts need not depend on the gateway.
 */
export const DEVICE_TOKEN_PREFIX = 'dt_';
const DEVICE_TOKEN_BODY_LENGTH = 40;
const DEVICE_TOKEN_PATTERN = /^dt_[0-9A-Za-z]{40}$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The largest multiple of 62 that fits in a byte: bytes at or above it are rejected, so no bias. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % BASE62.length);

/** A new device token. `random` is injectable so tests can check the sampling; it defaults to the CSPRNG. */
export function generateDeviceToken(random: (size: number) => Buffer = randomBytes): string {
  let body = '';
  while (body.length < DEVICE_TOKEN_BODY_LENGTH) {
    // 48 bytes almost always suffice (about 3% of bytes are rejected); loop when they do not.
    for (const byte of random(48)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      body += BASE62[byte % BASE62.length];
      if (body.length === DEVICE_TOKEN_BODY_LENGTH) break;
    }
  }
  return `${DEVICE_TOKEN_PREFIX}${body}`;
}

/** True when `token` has the shape `generateDeviceToken` produces; anything else cannot be a device's token. */
export function isDeviceTokenFormat(token: string): boolean {
  return DEVICE_TOKEN_PATTERN.test(token);
}

/** The 32-byte SHA-256 digest stored in `devices.token_hash`. */
export function hashDeviceTokenBytes(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Constant-time comparison of two SHA-256 digests (false when either is not 32 bytes). */
export function deviceTokenDigestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}
