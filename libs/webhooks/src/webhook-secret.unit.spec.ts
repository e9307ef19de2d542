import { createHash, createHmac } from 'node:crypto';
import { reachCellSignature, reachCellSignatureWithKey, validateReachCellSignature } from '@reach/webhook-signatures';
import { generateWebhookSecret, webhookSecretPrefix, webhookSigningKey } from './webhook-secret';

describe('webhook secret', () => {
  it('is whsec_ and 43 base64url characters (256 bits), different each time', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => generateWebhookSecret()));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret.slice(6), 'base64url')).toHaveLength(32);
    }
  });

  it('is stored as its SHA-256, which is exactly the X-ReachCell-Signature key', () => {
    const secret = generateWebhookSecret();
    const key = webhookSigningKey(secret);
    expect(key).toEqual(createHash('sha256').update(secret, 'utf8').digest());
    const body = '{"event_type":"sms.delivered","data":{"body":"é 漢字 👋"}}';
    // Signing with the stored key alone gives what the receiver, holding the secret, validates.
    const signedWithStoredKey = `sha256=${createHmac('sha256', key).update(body, 'utf8').digest('hex')}`;
    expect(signedWithStoredKey).toBe(reachCellSignature(secret, body));
    expect(reachCellSignatureWithKey(key, body)).toBe(signedWithStoredKey);
    expect(validateReachCellSignature(secret, signedWithStoredKey, body)).toBe(true);
  });

  it('shows a prefix too short to be the secret', () => {
    const secret = generateWebhookSecret();
    expect(webhookSecretPrefix(secret)).toBe(secret.slice(0, 12));
    expect(webhookSecretPrefix(secret).startsWith('whsec_')).toBe(true);
  });
});
