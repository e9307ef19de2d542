import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { AccountsError } from './accounts.errors';
import { API_KEY_SECRET_MIN_BYTES } from './api-key';

/**
 * SMPP bind passwords are needed in clear to bind, so they cannot be hashed: they are sealed with
 * AES-256-GCM under a key derived from the platform secret (`REACH_API_KEY_SECRET`, the one API
 * keys are derived from) and stored as `smpp_connectors.password_sealed`.
 *
 * - key = HKDF-SHA256(platform secret, no salt, info "reach smpp connector password v1"): its own
 *   label, so this key is unrelated to any API key derived from the same secret.
 * - sealed = version (1 byte, 0x01) | nonce (12 random bytes) | GCM tag (16 bytes) | ciphertext.
 *   The version byte is authenticated too (additional data).
 *
 * What this guarantees: a copy of the database alone reveals no password, and any change to a
 * sealed value (or opening it under another secret) is detected (`CONNECTOR_PASSWORD_UNREADABLE`)
 * rather than yielding a wrong password. Changing the platform secret makes every sealed password
 * unreadable: add the connectors again after a change.
 */
const SEAL_VERSION = 0x01;
const KEY_INFO = 'reach smpp connector password v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

function sealingKey(platformSecret: Buffer): Buffer {
  if (platformSecret.length < API_KEY_SECRET_MIN_BYTES) {
    throw new RangeError(`the platform secret must be at least ${API_KEY_SECRET_MIN_BYTES} bytes (got ${platformSecret.length})`);
  }
  return Buffer.from(hkdfSync('sha256', platformSecret, Buffer.alloc(0), KEY_INFO, 32));
}

/** Seals `plain` (UTF-8) under the platform secret; a new random nonce every call. */
export function sealConnectorPassword(platformSecret: Buffer, plain: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const version = Buffer.of(SEAL_VERSION);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(platformSecret), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(version);
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([version, nonce, cipher.getAuthTag(), ciphertext]);
}

/** The password `sealConnectorPassword` sealed; `CONNECTOR_PASSWORD_UNREADABLE` when it was altered or sealed under another secret. */
export function openConnectorPassword(platformSecret: Buffer, sealed: Buffer): string {
  const key = sealingKey(platformSecret);
  if (sealed.length < HEADER_BYTES) throw unreadable(`it is ${sealed.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  if (sealed[0] !== SEAL_VERSION) throw unreadable(`unknown format version ${sealed[0]}`);
  const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
  const tag = sealed.subarray(1 + NONCE_BYTES, HEADER_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(sealed.subarray(0, 1));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    // GCM's only failure here is a tag mismatch; its message adds nothing to this one.
    throw unreadable('it was altered, or sealed under another platform secret (REACH_API_KEY_SECRET)');
  }
}

function unreadable(why: string): AccountsError {
  return new AccountsError('CONNECTOR_PASSWORD_UNREADABLE', `cannot open the sealed connector password: ${why}`);
}
