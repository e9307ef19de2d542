import { timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality of two byte strings. timingSafeEqual throws on a length mismatch;
 * a length only reveals the shape of the expected value (always fixed for a digest), so it
 * is answered with `false` up front.
 */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
