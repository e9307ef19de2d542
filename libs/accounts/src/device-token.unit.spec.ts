import { createHash } from 'node:crypto';
import { deviceTokenDigestsEqual, generateDeviceToken, hashDeviceTokenBytes, isDeviceTokenFormat } from './device-token';

describe('device tokens', () => {
  it('are dt_ followed by 40 base62 characters (≥ 200 bits), different every time', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => generateDeviceToken()));
    expect(tokens.size).toBe(100);
    for (const token of tokens) expect(isDeviceTokenFormat(token)).toBe(true);
    expect([...tokens][0]).toMatch(/^dt_[0-9A-Za-z]{40}$/);
    expect(40 * Math.log2(62)).toBeGreaterThanOrEqual(200);
  });

  it('draw characters without bias: bytes from 248 up are rejected, the others map modulo 62', () => {
    // 248 = 4 · 62: keeping those bytes would make the first 8 characters more likely.
    const rejected = Array.from({ length: 8 }, (_, i) => 248 + i);
    let calls = 0;
    const random = (size: number) => {
      calls += 1;
      return calls === 1 ? Buffer.from([...rejected, 0, 61, 62, 247, ...Array<number>(size - 12).fill(255)]) : Buffer.alloc(size, 1);
    };
    const token = generateDeviceToken(random);
    expect(token.slice(0, 7)).toBe('dt_0z0z');
    expect(token.slice(7)).toBe('1'.repeat(36));
    expect(calls).toBe(2);
  });

  it('recognises only the exact shape', () => {
    const token = generateDeviceToken();
    for (const bad of ['', token.slice(0, -1), `${token}A`, token.replace('dt_', 'ak_'), `${token.slice(0, -1)}-`, ` ${token}`]) {
      expect(isDeviceTokenFormat(bad)).toBe(false);
    }
  });

  it('are stored as the SHA-256 of their UTF-8 text (the hash the device gateway documents)', () => {
    const token = `dt_${'a'.repeat(40)}`;
    expect(hashDeviceTokenBytes(token).toString('hex')).toBe(createHash('sha256').update(token, 'utf8').digest('hex'));
    // Pinned: a device's stored hash must keep matching its token (computed with sha256sum).
    expect(hashDeviceTokenBytes(token).toString('hex')).toBe('54431a052a6e80f2256a25c1c7c35c37998b8d2e23153987d15eed855bdf9d70');
  });

  it('compare digests in constant time, and never equal a digest of the wrong length', () => {
    const digest = hashDeviceTokenBytes('dt_x');
    expect(deviceTokenDigestsEqual(digest, Buffer.from(digest))).toBe(true);
    expect(deviceTokenDigestsEqual(digest, hashDeviceTokenBytes('dt_y'))).toBe(false);
    expect(deviceTokenDigestsEqual(digest.subarray(0, 16), digest.subarray(0, 16))).toBe(false);
  });
});
