import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { AccountsError } from './accounts.errors';
import {
  apiKeyDisplayPrefix,
  deriveApiKey,
  generateApiUser,
  hashApiKey,
  isApiKeyFormat,
  isApiUserFormat,
  parseApiKeySecret,
} from './api-key';

const secret = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const otherSecret = Buffer.from('202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f', 'hex');
const keyId = '3f8e2a44-7c1d-4b5e-9a60-1c2d3e4f5a6b';
const uuid = fc.uuid().map((id) => id.toLowerCase());
const secretBytes = fc.uint8Array({ minLength: 32, maxLength: 64 }).map((bytes) => Buffer.from(bytes));

describe('API keys', () => {
  it('are ak_ followed by 40 base62 characters (≥ 200 bits)', () => {
    const key = deriveApiKey(secret, keyId);
    expect(key).toMatch(/^ak_[0-9A-Za-z]{40}$/);
    expect(isApiKeyFormat(key)).toBe(true);
    expect(40 * Math.log2(62)).toBeGreaterThanOrEqual(200);
  });

  it('are derived deterministically from the platform secret and the key id', () => {
    const key = deriveApiKey(secret, keyId);
    expect(deriveApiKey(Buffer.from(secret), keyId)).toBe(key);
    // A UUID is the same id whatever its case (as in PostgreSQL), so it yields the same key.
    expect(deriveApiKey(secret, keyId.toUpperCase())).toBe(key);
    // Pinned (computed independently: HMAC-SHA256 over "reach-api-key:v1:<id>:0", then ":1"):
    // changing the derivation would invalidate every key issued so far.
    expect(key).toBe('ak_8puym2VKHNagGNXURxDmOlzpw3S22qRdKCZfiIBa');
  });

  it('differ for different key ids and for different secrets', () => {
    const key = deriveApiKey(secret, keyId);
    expect(deriveApiKey(secret, '3f8e2a44-7c1d-4b5e-9a60-1c2d3e4f5a6c')).not.toBe(key);
    expect(deriveApiKey(otherSecret, keyId)).not.toBe(key);
    const keys = new Set(Array.from({ length: 500 }, () => deriveApiKey(secret, randomUUID())));
    expect(keys.size).toBe(500);
  });

  it('use the whole alphabet, each character about equally often', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2_000; i++) {
      const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
      for (const char of deriveApiKey(secret, id).slice(3)) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    // 80,000 characters: about 1,290 each (σ ≈ 36); a biased mapping (byte % 62 without
    // rejection) would give the first eight characters about 1,560.
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(1_100);
      expect(count).toBeLessThan(1_480);
    }
  });

  it('have the key format and are a function of (secret, key id) — property', () => {
    fc.assert(
      fc.property(secretBytes, uuid, (bytes, id) => {
        const key = deriveApiKey(bytes, id);
        return isApiKeyFormat(key) && deriveApiKey(Buffer.from(bytes), id) === key;
      }),
    );
  });

  it('differ when the secret or the key id differs — property', () => {
    fc.assert(
      fc.property(secretBytes, secretBytes, uuid, uuid, (a, b, idA, idB) => {
        fc.pre(!a.equals(b) || idA !== idB);
        return deriveApiKey(a, idA) !== deriveApiKey(b, idB);
      }),
    );
  });

  it('refuse a short secret and a key id that is not a UUID', () => {
    expect(() => deriveApiKey(Buffer.alloc(31, 7), keyId)).toThrow(/at least 32 bytes/);
    expect(() => deriveApiKey(secret, 'not-a-uuid')).toThrow(RangeError);
    expect(() => deriveApiKey(secret, `${keyId}:1`)).toThrow(RangeError);
  });

  it('hash to the 32-byte SHA-256 digest', () => {
    const digest = hashApiKey('ak_test');
    expect(digest).toBeInstanceOf(Buffer);
    expect(digest.toString('hex')).toBe('5364b0ab6b28e44634f8657a9ae296865937601d03a55585138ab0afa9a8b790');
    expect(digest).toHaveLength(32);
    expect(hashApiKey('ak_test').equals(digest)).toBe(true);
    expect(hashApiKey('ak_tesT').equals(digest)).toBe(false);
  });

  it('keep a 10-character display prefix', () => {
    const key = deriveApiKey(secret, randomUUID());
    expect(apiKeyDisplayPrefix(key)).toBe(key.slice(0, 10));
    expect(apiKeyDisplayPrefix(key)).toMatch(/^ak_[0-9A-Za-z]{7}$/);
  });

  it('reject other shapes', () => {
    expect(isApiKeyFormat('ak_short')).toBe(false);
    expect(isApiKeyFormat(`sk_${'a'.repeat(40)}`)).toBe(false);
    expect(isApiKeyFormat(`ak_${'a'.repeat(39)}-`)).toBe(false);
  });
});

describe('parseApiKeySecret', () => {
  const bytes = randomBytes(32);

  it('reads 64+ hex characters as hex, whatever their case, ignoring surrounding whitespace', () => {
    expect(parseApiKeySecret(bytes.toString('hex')).equals(bytes)).toBe(true);
    expect(parseApiKeySecret(`${bytes.toString('hex').toUpperCase()}\n`).equals(bytes)).toBe(true);
    const long = randomBytes(48);
    expect(parseApiKeySecret(long.toString('hex')).equals(long)).toBe(true);
  });

  it('reads base64 and base64url of at least 32 bytes', () => {
    expect(parseApiKeySecret(bytes.toString('base64')).equals(bytes)).toBe(true);
    expect(parseApiKeySecret(bytes.toString('base64url')).equals(bytes)).toBe(true);
    const long = randomBytes(64);
    expect(parseApiKeySecret(` ${long.toString('base64')} `).equals(long)).toBe(true);
  });

  it('reads text made only of hex digits as hex, never as more bytes of base64', () => {
    // 48 hex digits would decode as 36 bytes of base64, but carry only 24 bytes.
    const short = randomBytes(24).toString('hex');
    expect(() => parseApiKeySecret(short)).toThrow(/too short \(24 bytes\)/);
    expect(() => parseApiKeySecret(`${bytes.toString('hex')}a`)).toThrow(/odd number of hex digits/);
  });

  it('refuses what carries less than 32 bytes, or is not hex or base64, with a typed error that never echoes the text', () => {
    const cases = ['', '   ', 'hunter2', randomBytes(31).toString('base64'), randomBytes(31).toString('hex'), 'correct horse battery staple, a long passphrase', '0'.repeat(64)];
    for (const text of cases) {
      let caught: unknown;
      try {
        parseApiKeySecret(text);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AccountsError);
      expect(caught).toMatchObject({ code: 'INVALID_API_KEY_SECRET', message: expect.stringContaining('openssl rand -hex 32') });
      if (text.trim() !== '') expect((caught as Error).message).not.toContain(text.trim());
    }
  });
});

describe('ApiUser', () => {
  it('is AID followed by 24 uppercase hex characters', () => {
    const apiUser = generateApiUser();
    expect(apiUser).toMatch(/^AID[0-9A-F]{24}$/);
    expect(isApiUserFormat(apiUser)).toBe(true);
    expect(generateApiUser()).not.toBe(apiUser);
    expect(isApiUserFormat('AIDxxxxxxxxxxxxxxxxxxxxxxxx')).toBe(false);
  });
});
