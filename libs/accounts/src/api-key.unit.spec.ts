import {
  apiKeyDisplayPrefix,
  generateApiKey,
  generateApiUser,
  hashApiKey,
  isApiKeyFormat,
  isApiUserFormat,
} from './api-key';

describe('API keys', () => {
  it('are ak_ followed by 40 base62 characters (≥ 200 bits)', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^ak_[0-9A-Za-z]{40}$/);
    expect(isApiKeyFormat(key)).toBe(true);
    expect(40 * Math.log2(62)).toBeGreaterThanOrEqual(200);
  });

  it('do not repeat and use the whole alphabet', () => {
    const keys = new Set(Array.from({ length: 500 }, () => generateApiKey()));
    expect(keys.size).toBe(500);
    const seen = new Set([...keys].flatMap((key) => [...key.slice(3)]));
    expect(seen.size).toBe(62);
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
    const key = generateApiKey();
    expect(apiKeyDisplayPrefix(key)).toBe(key.slice(0, 10));
    expect(apiKeyDisplayPrefix(key)).toMatch(/^ak_[0-9A-Za-z]{7}$/);
  });

  it('reject other shapes', () => {
    expect(isApiKeyFormat('ak_short')).toBe(false);
    expect(isApiKeyFormat(`sk_${'a'.repeat(40)}`)).toBe(false);
    expect(isApiKeyFormat(`ak_${'a'.repeat(39)}-`)).toBe(false);
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
