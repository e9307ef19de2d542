import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { reachCellSignature, reachCellSignatureWithKey, validateReachCellSignature } from './reach-cell-signature';

// Independent oracle: key = raw SHA-256 digest of the secret, over explicit UTF-8 bytes.
function oracle(secret: string, body: string): string {
  const key = createHash('sha256').update(Buffer.from(secret, 'utf8')).digest();
  return `sha256=${createHmac('sha256', key).update(Buffer.from(body, 'utf8')).digest('hex')}`;
}

describe('reachCellSignature', () => {
  const secret = 'whsec_test';
  const body = '{"event_type":"sms.received","data":{"body":"Grüße 👋"}}';
  // Computed once with node:crypto and cross-checked with `openssl dgst -sha256 -mac HMAC`.
  const expected = 'sha256=1922ffe4931c8da83c7fffaa036bdba1873d088b4f36a7074d76ab87fb556e81';

  it('matches the fixed vector for a non-ASCII body', () => {
    expect(oracle(secret, body)).toBe(expected);
    expect(reachCellSignature(secret, body)).toBe(expected);
    expect(reachCellSignature(secret, Buffer.from(body, 'utf8'))).toBe(expected);
  });

  it('keys the HMAC with the digest of the secret, not the secret', () => {
    const keyedBySecret = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    expect(reachCellSignature(secret, body)).not.toBe(keyedBySecret);
    expect(validateReachCellSignature(secret, keyedBySecret, body)).toBe(false);
  });

  it('validates its own header, hex in either case', () => {
    expect(validateReachCellSignature(secret, expected, body)).toBe(true);
    expect(validateReachCellSignature(secret, `sha256=${expected.slice(7).toUpperCase()}`, body)).toBe(true);
    expect(validateReachCellSignature(secret, oracle(secret, ''), '')).toBe(true);
  });

  it('rejects a tampered body or the wrong secret', () => {
    expect(validateReachCellSignature(secret, expected, body.replace('👋', '👍'))).toBe(false);
    expect(validateReachCellSignature(secret, expected, `${body}\n`)).toBe(false);
    expect(validateReachCellSignature('whsec_other', expected, body)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['empty', ''],
    ['bare hex', expected.slice(7)],
    ['wrong prefix', `sha1=${expected.slice(7)}`],
    ['upper-case prefix', `SHA256=${expected.slice(7)}`],
    ['sha512 prefix', `sha512=${expected.slice(7)}`],
    ['one hex digit short', expected.slice(0, -1)],
    ['one hex digit long', `${expected}0`],
    ['odd garbage', 'sha256=not-hex-at-all'],
    ['non-hex of the right length', `sha256=${'z'.repeat(64)}`],
    ['two signatures', `${expected},${expected}`],
    ['a flipped digit', expected.slice(0, -1) + (expected.endsWith('0') ? '1' : '0')],
  ])('rejects a %s header without throwing', (_label, header) => {
    expect(validateReachCellSignature(secret, header, body)).toBe(false);
  });

  it('sign then validate holds for arbitrary secrets and bodies, and a changed body fails', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: 'grapheme' }), (s, b) => {
        const header = reachCellSignature(s, b);
        expect(header).toBe(oracle(s, b));
        expect(validateReachCellSignature(s, header, b)).toBe(true);
        expect(validateReachCellSignature(s, header, `${b}x`)).toBe(false);
      }),
    );
  });
});

// Fixed vectors computed outside Node:
//   key=$(printf '%s' whsec_vector_secret | sha256sum | cut -d' ' -f1)
//   printf '%s' "$body" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$key
// (cross-checked with Python's hmac). The key is pinned as hex too, so a change in how the
// secret is turned into the key cannot hide behind a matching change in the oracle.
describe('X-ReachCell-Signature fixed vectors', () => {
  const secret = 'whsec_vector_secret';
  const keyHex = '30fe15318a5ab03b26a4d8e1c0721b1a5ce79aace56465aff1d885f13c0efc50';
  const byHand = (body: string): string =>
    `sha256=${createHmac('sha256', Buffer.from(keyHex, 'hex')).update(Buffer.from(body, 'utf8')).digest('hex')}`;

  it('keys the HMAC with the raw 32-byte SHA-256 digest of the secret', () => {
    const key = createHash('sha256').update(Buffer.from(secret, 'utf8')).digest();
    expect(key).toHaveLength(32);
    expect(key.toString('hex')).toBe(keyHex);
  });

  it.each([
    ['é', '{"event_type":"sms.received","data":{"body":"Café crème, déjà vu"}}', 'sha256=7055f7647e970595a2da6fd6184bd6a12ff5c3ef61c5e8124d2606e29fa09005'],
    ['漢字', '{"event_type":"sms.received","data":{"body":"漢字のテスト"}}', 'sha256=73703bb3c745dd83593f23bf2b7c7578db77f44b869d3c6a17fc58b30f40da0d'],
    ['emoji', '{"event_type":"sms.received","data":{"body":"👋🏽 ok 🎉"}}', 'sha256=b6fc2d2dde2318b7974f398b98e2cb64df00d41a287f7027879d27129165a488'],
    ['an empty body', '', 'sha256=dc71f1b62284e8aa844e3e8bbcf3a22ba1b1950454d135b15d210e0582f10d4f'],
  ])('a body with %s', (_label, body, expected) => {
    expect(byHand(body)).toBe(expected);
    expect(reachCellSignature(secret, body)).toBe(expected);
    expect(reachCellSignature(secret, Buffer.from(body, 'utf8'))).toBe(expected);
    expect(validateReachCellSignature(secret, expected, body)).toBe(true);
    expect(validateReachCellSignature(secret, expected, Buffer.from(body, 'utf8'))).toBe(true);
    // A sender holding only the stored key, SHA-256(secret), produces the same header.
    expect(reachCellSignatureWithKey(Buffer.from(keyHex, 'hex'), body)).toBe(expected);
    expect(reachCellSignatureWithKey(Buffer.from(keyHex, 'hex'), Buffer.from(body, 'utf8'))).toBe(expected);
  });

  it('signs the UTF-8 bytes: the same text in another encoding does not validate', () => {
    const body = '{"event_type":"sms.received","data":{"body":"Café crème, déjà vu"}}';
    const expected = 'sha256=7055f7647e970595a2da6fd6184bd6a12ff5c3ef61c5e8124d2606e29fa09005';
    expect(validateReachCellSignature(secret, expected, Buffer.from(body, 'latin1'))).toBe(false);
    expect(validateReachCellSignature(secret, expected, body.normalize('NFD'))).toBe(false);
  });
});
