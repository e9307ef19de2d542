import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { reachCellSignature, validateReachCellSignature } from './reach-cell-signature';

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
