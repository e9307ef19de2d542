import { canonicalJson, hashRequest, parseIdempotencyKey } from './idempotency-request';

const base = { method: 'POST', path: '/v1/sms/send', accountId: '0b7c0b4e-6f1e-4a52-9d1c-2b0f3a1e9c11' };

describe('parseIdempotencyKey', () => {
  it('accepts 1 to 255 printable ASCII characters, spaces included', () => {
    expect(parseIdempotencyKey('a')).toBe('a');
    expect(parseIdempotencyKey('order 42/retry~1')).toBe('order 42/retry~1');
    expect(parseIdempotencyKey('k'.repeat(255))).toBe('k'.repeat(255));
  });

  it('refuses an empty, too long, non-ASCII, control-character or repeated header', () => {
    expect(parseIdempotencyKey('')).toBeNull();
    expect(parseIdempotencyKey('k'.repeat(256))).toBeNull();
    expect(parseIdempotencyKey('clé')).toBeNull();
    expect(parseIdempotencyKey('a\tb')).toBeNull();
    expect(parseIdempotencyKey('a\u007f')).toBeNull();
    expect(parseIdempotencyKey(['a', 'b'])).toBeNull();
    expect(parseIdempotencyKey(undefined)).toBeNull();
  });
});

describe('canonicalJson', () => {
  it('orders object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });

  it('drops undefined members and writes non-finite numbers as null, like JSON', () => {
    expect(canonicalJson({ a: undefined, b: Number.NaN, c: [undefined] })).toBe('{"b":null,"c":[null]}');
  });

  it('escapes strings as JSON does', () => {
    expect(canonicalJson({ 'k"ey': 'line\nbreak "quoted" ü' })).toBe(JSON.stringify({ 'k"ey': 'line\nbreak "quoted" ü' }));
  });

  it('reads class instances by their own fields', () => {
    class Unparseable {
      constructor(readonly reason: string, readonly contentType: string) {}
    }
    expect(canonicalJson(new Unparseable('malformed_json', 'application/json'))).toBe(
      '{"contentType":"application/json","reason":"malformed_json"}',
    );
  });
});

describe('hashRequest', () => {
  const body = { from: '+14155552671', to: '+14155553000', body: 'Your code is 482910' };

  it('is a hex SHA-256, equal for the same request whatever the key order of its body', () => {
    const hash = hashRequest({ ...base, body });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRequest({ ...base, body: { body: body.body, to: body.to, from: body.from } })).toBe(hash);
    expect(hashRequest({ ...base, method: 'post', body })).toBe(hash);
  });

  it('differs when the body, path, method or account differs', () => {
    const hash = hashRequest({ ...base, body });
    expect(hashRequest({ ...base, body: { ...body, body: 'Your code is 482911' } })).not.toBe(hash);
    expect(hashRequest({ ...base, body: { ...body, extra: 'x' } })).not.toBe(hash);
    expect(hashRequest({ ...base, path: '/rest/messaging/v1/create', body })).not.toBe(hash);
    expect(hashRequest({ ...base, path: '/v1/sms/send?x=1', body })).not.toBe(hash);
    expect(hashRequest({ ...base, method: 'PUT', body })).not.toBe(hash);
    expect(hashRequest({ ...base, accountId: 'another', body })).not.toBe(hash);
  });

  it('tells a string from a number and an empty body from an empty object', () => {
    expect(hashRequest({ ...base, body: { maxPrice: '1' } })).not.toBe(hashRequest({ ...base, body: { maxPrice: 1 } }));
    expect(hashRequest({ ...base, body: undefined })).toBe(hashRequest({ ...base, body: null }));
    expect(hashRequest({ ...base, body: undefined })).not.toBe(hashRequest({ ...base, body: {} }));
  });
});
