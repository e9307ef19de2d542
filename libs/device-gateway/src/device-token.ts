import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Device tokens are stored only as SHA-256 hashes (hex). The gateway's token lookup hashes the
 * presented token with `hashDeviceToken` and compares with `deviceTokenHashesEqual` (constant
 * time), so neither the token nor its hash leaks through timing.
 */
export function hashDeviceToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of two SHA-256 hex hashes (false when lengths differ). */
export function deviceTokenHashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === 32 && right.length === 32 && timingSafeEqual(left, right);
}
