import { createHash, randomBytes } from 'node:crypto';

/**
 * A webhook's secret: `whsec_` + 43 base64url characters (256 random bits). Only its SHA-256
 * digest is stored, and that digest is exactly the HMAC key of `X-ReachCell-Signature`
 * (PRODUCT.md §1), so we can sign without ever keeping the secret.
 */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function webhookSigningKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** The non-secret beginning kept for display, so people can tell their secrets apart. */
export function webhookSecretPrefix(secret: string): string {
  return secret.slice(0, 12);
}
