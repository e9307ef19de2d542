import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import {
  reachBodySha256,
  reachSignature,
  reachSignedUrlForBody,
  validateReachBody,
  validateReachSignature,
  type ReachSignatureParams,
} from './reach-signature';

// Independent oracle, written differently on purpose: one string built with reduce, then one HMAC.
function oracle(apiKey: string, url: string, params: Record<string, string | string[]>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, name) => {
      const value = params[name] ?? '';
      const parts = Array.isArray(value) ? Array.from(new Set(value)).sort().map((v) => name + v) : [name + value];
      return acc + parts.join('');
    }, url);
  return createHmac('sha1', Buffer.from(apiKey, 'utf8')).update(Buffer.from(data, 'utf8')).digest('base64');
}

describe('reachSignature', () => {
  const twilioUrl = 'https://mycompany.com/myapp.php?foo=1&bar=2';

  // twilio-node's own spec (spec/validation.spec.js) pins this vector.
  it('matches the twilio-node test vector', () => {
    const params = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' };
    expect(reachSignature('12345', twilioUrl, params)).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    expect(validateReachSignature('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', twilioUrl, params)).toBe(true);
  });

  // Twilio's docs / api-snippets use the other caller number with this signature.
  it("matches the Twilio docs' worked example", () => {
    const params = { To: '+18005551212', From: '+14158675310', Digits: '1234', Caller: '+14158675310', CallSid: 'CA1234567890ABCDE' };
    expect(reachSignature('12345', twilioUrl, params)).toBe('GvWf1cFY/Q7PnoempGyD5oXAezc=');
  });

  // Vectors below were computed once with node:crypto, Python's hmac and openssl.
  it.each<[string, string, Record<string, string | string[]>, string]>([
    ['array values and UTF-8', 'https://hooks.example.com/status?x=1', { To: '+18005551212', Tag: ['b', 'a', 'b'], Body: 'héllo wörld ✓' }, 'lEGc2CcrbXJnNymmlbGDSidm+4I='],
    ['empty params', 'https://hooks.example.com/status', {}, 'uTyZPL7pYPGE1ggpc0KrpmsA8w0='],
    ['a non-default port', 'https://hooks.example.com:8443/status', { MessageId: 'm1' }, 'n7ztZsyXs7tLh+hhTL/ccUb/td8='],
  ])('fixed vector: %s', (_label, url, params, expected) => {
    expect(reachSignature('key-1', url, params)).toBe(expected);
    expect(oracle('key-1', url, params)).toBe(expected);
    expect(validateReachSignature('key-1', expected, url, params)).toBe(true);
  });

  it('sorts names by UTF-16 code unit, uppercase before lowercase', () => {
    const params = { b: '1', B: '2', a: '3', 'ä': '4', _: '5' };
    expect(reachSignature('k', 'https://x.test/', params)).toBe(oracle('k', 'https://x.test/', params));
  });

  it('does not URL-encode names, values or the URL', () => {
    const url = 'https://x.test/cb?q=a b&r=%20';
    const params = { Body: 'a&b=c %20+' };
    const expected = createHmac('sha1', 'k').update(`${url}Bodya&b=c %20+`).digest('base64');
    expect(reachSignature('k', url, params)).toBe(expected);
  });

  it('treats an array of one value like the plain value, and ignores duplicates', () => {
    const url = 'https://x.test/';
    expect(reachSignature('k', url, { A: ['v'] })).toBe(reachSignature('k', url, { A: 'v' }));
    expect(reachSignature('k', url, { A: ['y', 'x', 'y'] })).toBe(reachSignature('k', url, { A: ['x', 'y'] }));
  });
});

describe('validateReachSignature', () => {
  const key = 'ak_secret';
  const params = { messageId: 'msg_1', status: 'delivered', body: 'Grüße 👋' };

  it.each([
    ['https without port', 'https://hooks.example.com/cb?a=1', 'https://hooks.example.com:443/cb?a=1'],
    ['http without port', 'http://hooks.example.com/cb', 'http://hooks.example.com:80/cb'],
    ['https with :443', 'https://hooks.example.com:443/cb', 'https://hooks.example.com/cb'],
    ['http with :80', 'http://hooks.example.com:80/cb?x=y', 'http://hooks.example.com/cb?x=y'],
  ])('accepts a signature made over the other port form (%s)', (_label, receivedUrl, signedUrl) => {
    expect(validateReachSignature(key, reachSignature(key, signedUrl, params), receivedUrl, params)).toBe(true);
    expect(validateReachSignature(key, reachSignature(key, receivedUrl, params), receivedUrl, params)).toBe(true);
  });

  it('keeps a non-default port as given and does not make one up', () => {
    const url = 'https://hooks.example.com:8443/cb';
    expect(validateReachSignature(key, reachSignature(key, url, params), url, params)).toBe(true);
    const elsewhere = reachSignature(key, 'https://hooks.example.com:9443/cb', params);
    expect(validateReachSignature(key, elsewhere, url, params)).toBe(false);
    const defaultPort = reachSignature(key, 'https://hooks.example.com:443/cb', params);
    expect(validateReachSignature(key, defaultPort, 'https://hooks.example.com:8443/cb', params)).toBe(false);
  });

  it('handles userinfo and IPv6 hosts', () => {
    const url = 'https://u:p@[::1]/cb';
    expect(validateReachSignature(key, reachSignature(key, 'https://u:p@[::1]:443/cb', params), url, params)).toBe(true);
  });

  it('rejects a tampered signature, param, URL or key', () => {
    const url = 'https://hooks.example.com/cb?a=1';
    const signature = reachSignature(key, url, params);
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expect(validateReachSignature(key, flipped, url, params)).toBe(false);
    expect(validateReachSignature(key, signature, url, { ...params, status: 'failed' })).toBe(false);
    expect(validateReachSignature(key, signature, url, { ...params, extra: '' })).toBe(false);
    expect(validateReachSignature(key, signature, 'https://hooks.example.com/cb?a=2', params)).toBe(false);
    expect(validateReachSignature(key, signature, 'http://hooks.example.com/cb?a=1', params)).toBe(false);
    expect(validateReachSignature('ak_other', signature, url, params)).toBe(false);
  });

  it('rejects wrong-length, empty and missing signatures without throwing', () => {
    const url = 'https://hooks.example.com/cb';
    const signature = reachSignature(key, url, params);
    expect(validateReachSignature(key, signature.slice(0, -1), url, params)).toBe(false);
    expect(validateReachSignature(key, `${signature}=`, url, params)).toBe(false);
    expect(validateReachSignature(key, '', url, params)).toBe(false);
    expect(validateReachSignature(key, undefined, url, params)).toBe(false);
    expect(validateReachSignature(key, null, url, params)).toBe(false);
    expect(validateReachSignature(key, 'ü'.repeat(14), url, params)).toBe(false);
  });

  it('works on a URL that is not absolute', () => {
    expect(validateReachSignature(key, reachSignature(key, '/cb', params), '/cb', params)).toBe(true);
  });
});

describe('bodySHA256 variant', () => {
  const key = '12345';
  // The body and hash from Twilio's JSON-webhook example.
  const body = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}';
  const bodyHash = '5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9';

  it("hashes the body as Twilio's example does", () => {
    expect(reachBodySha256(body)).toBe(bodyHash);
    expect(reachBodySha256(Buffer.from(body, 'utf8'))).toBe(bodyHash);
  });

  it('appends bodySHA256 to the query', () => {
    expect(reachSignedUrlForBody('https://x.test/cb', body)).toBe(`https://x.test/cb?bodySHA256=${bodyHash}`);
    expect(reachSignedUrlForBody('https://x.test/cb?a=1', body)).toBe(`https://x.test/cb?a=1&bodySHA256=${bodyHash}`);
    expect(reachSignedUrlForBody('https://x.test/cb?', body)).toBe(`https://x.test/cb?bodySHA256=${bodyHash}`);
    // A '?' after the first one is part of the query (found by the property below: `?a?`).
    expect(reachSignedUrlForBody('http://a.aa?a?', body)).toBe(`http://a.aa?a?&bodySHA256=${bodyHash}`);
    expect(reachSignedUrlForBody('https://x.test/cb?a=1&', body)).toBe(`https://x.test/cb?a=1&bodySHA256=${bodyHash}`);
    expect(reachSignedUrlForBody('https://x.test/cb#f', body)).toBe(`https://x.test/cb?bodySHA256=${bodyHash}#f`);
  });

  it('accepts the signature over the URL alone when the body matches', () => {
    const url = reachSignedUrlForBody('https://hooks.example.com/cb?a=1', body);
    const signature = createHmac('sha1', key).update(url).digest('base64');
    expect(validateReachBody(key, signature, url, body)).toBe(true);
    expect(validateReachBody(key, signature, url, Buffer.from(body, 'utf8'))).toBe(true);
    expect(validateReachBody(key, signature, url.replace('.com/', '.com:443/'), body)).toBe(true);
  });

  it('handles non-ASCII bodies as UTF-8', () => {
    const utf8Body = '{"body":"Grüße 👋 — ça va?"}';
    const url = reachSignedUrlForBody('https://hooks.example.com/cb', utf8Body);
    expect(url).toContain(createHash('sha256').update(Buffer.from(utf8Body, 'utf8')).digest('hex'));
    expect(validateReachBody(key, reachSignature(key, url, {}), url, utf8Body)).toBe(true);
    expect(validateReachBody(key, reachSignature(key, url, {}), url, utf8Body.normalize('NFD'))).toBe(false);
  });

  it('rejects a tampered body, a tampered hash, a bad signature or a missing bodySHA256', () => {
    const url = reachSignedUrlForBody('https://hooks.example.com/cb', body);
    const signature = reachSignature(key, url, {});
    expect(validateReachBody(key, signature, url, body.replace('1234', '9999'))).toBe(false);
    expect(validateReachBody(key, signature, url, `${body} `)).toBe(false);
    const otherHash = url.replace(bodyHash, reachBodySha256('x'));
    expect(validateReachBody(key, reachSignature(key, otherHash, {}), otherHash, body)).toBe(false);
    expect(validateReachBody(key, signature.slice(1), url, body)).toBe(false);
    expect(validateReachBody(key, undefined, url, body)).toBe(false);
    const plain = 'https://hooks.example.com/cb';
    expect(validateReachBody(key, reachSignature(key, plain, {}), plain, body)).toBe(false);
    const short = 'https://hooks.example.com/cb?bodySHA256=abc';
    expect(validateReachBody(key, reachSignature(key, short, {}), short, body)).toBe(false);
  });
});

describe('properties', () => {
  const arbKey = fc.string({ minLength: 1, maxLength: 40 });
  const arbUrl = fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string({ maxLength: 60 }));
  const arbValue = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }));
  const arbParams = fc.dictionary(fc.string({ maxLength: 10 }), arbValue, { maxKeys: 8 });

  it('sign then validate holds, and agrees with the oracle', () => {
    fc.assert(
      fc.property(arbKey, arbUrl, arbParams, (key, url, params) => {
        const signature = reachSignature(key, url, params);
        expect(signature).toBe(oracle(key, url, params));
        expect(signature).toHaveLength(28);
        expect(validateReachSignature(key, signature, url, params)).toBe(true);
      }),
    );
  });

  it('changing any one param value breaks the signature', () => {
    fc.assert(
      fc.property(
        arbKey,
        fc.webUrl({ withQueryParameters: true }),
        arbParams.filter((p) => Object.keys(p).length > 0),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 6 }),
        (key, url, params, pick, suffix) => {
          const names = Object.keys(params);
          const name = names[pick % names.length] ?? '';
          const value = params[name] ?? '';
          // Appending to a plain value, or adding a value not yet in an array, always changes the signed string.
          const changed: ReachSignatureParams = {
            ...params,
            [name]: Array.isArray(value) ? [...value, `${value.join('')}${suffix}`] : `${String(value)}${suffix}`,
          };
          expect(validateReachSignature(key, reachSignature(key, url, params), url, changed)).toBe(false);
        },
      ),
    );
  });

  it('bodySHA256 round-trips for arbitrary bodies', () => {
    fc.assert(
      fc.property(arbKey, fc.webUrl({ withQueryParameters: true }), fc.string({ unit: 'grapheme' }), (key, base, body) => {
        const url = reachSignedUrlForBody(base, body);
        expect(validateReachBody(key, reachSignature(key, url, {}), url, body)).toBe(true);
        expect(validateReachBody(key, reachSignature(key, url, {}), url, `${body}!`)).toBe(false);
      }),
    );
  });
});

// Fixed vectors whose expected values were computed outside Node, with
// `printf '%s' "<url><name><value>…" | openssl dgst -sha1 -hmac ak_vector_key -binary | base64`
// (cross-checked with Python's hmac). `signedString` spells the signed string out by hand, in the
// order the scheme puts it, so the vectors do not depend on the implementation's sorting either.
describe('X-Reach-Signature fixed vectors', () => {
  const key = 'ak_vector_key';
  const signedString = (...parts: string[]): Buffer => Buffer.concat(parts.map((part) => Buffer.from(part, 'utf8')));
  const byHand = (data: Buffer): string => createHmac('sha1', Buffer.from(key, 'utf8')).update(data).digest('base64');

  it.each<[string, string, Record<string, string>, Buffer, string]>([
    [
      'a query string and an explicit non-default port',
      'https://example.com:8443/cb?x=1',
      { status: 'delivered', messageId: 'msg-1' },
      signedString('https://example.com:8443/cb?x=1', 'messageId', 'msg-1', 'status', 'delivered'),
      'XhBXMgp6B9TkA2j742bEL7woOAc=',
    ],
    [
      'a query string with several parameters',
      'https://hooks.example.com/reach/status?tenant=acme&v=2',
      { status: 'sent', src: '+14155552671', dest: '+14155553000' },
      signedString('https://hooks.example.com/reach/status?tenant=acme&v=2', 'dest', '+14155553000', 'src', '+14155552671', 'status', 'sent'),
      'Vvv/CKQlPi95J/65NSgqxUJCFfs=',
    ],
    [
      'a body with é',
      'https://example.com/cb',
      { messageId: 'msg-2', body: 'Café crème, déjà vu' },
      signedString('https://example.com/cb', 'body', 'Café crème, déjà vu', 'messageId', 'msg-2'),
      '2+zpe7sA7ggqKGQkRu7S/jF1tYg=',
    ],
    [
      'a body with 漢字',
      'https://example.com/cb',
      { messageId: 'msg-2', body: '漢字のテスト' },
      signedString('https://example.com/cb', 'body', '漢字のテスト', 'messageId', 'msg-2'),
      'nQL9oIyiD2VNdTwoMpfqWF+vxa4=',
    ],
    [
      'a body with emoji (astral, with a skin-tone modifier)',
      'https://example.com/cb',
      { messageId: 'msg-2', body: '👋🏽 ok 🎉' },
      signedString('https://example.com/cb', 'body', '👋🏽 ok 🎉', 'messageId', 'msg-2'),
      'nQx58PP6CJ41qclsWA+0uBd5AVE=',
    ],
    [
      'all of it: query, non-default port, é, 漢字 and emoji',
      'https://example.com:8443/cb?x=1',
      { status: 'delivered', messageId: 'msg-2', body: 'é 漢字 👋🏽' },
      signedString('https://example.com:8443/cb?x=1', 'body', 'é 漢字 👋🏽', 'messageId', 'msg-2', 'status', 'delivered'),
      'SI6tGHkoga9RBVG7UHU+veSzje0=',
    ],
  ])('%s', (_label, url, params, data, expected) => {
    expect(byHand(data)).toBe(expected);
    expect(reachSignature(key, url, params)).toBe(expected);
    expect(validateReachSignature(key, expected, url, params)).toBe(true);
  });

  it('a non-default port: the port-removed form is accepted (as Twilio does), a default port is not made up', () => {
    const params = { status: 'delivered', messageId: 'msg-1' };
    const withoutPort = '3cC3whj8hkAmQf5p2eDNaqOuwc4=';
    const withDefaultPort = 'hP11tDfr5Ga03ZbW5G6opAJi7Ns=';
    expect(byHand(signedString('https://example.com/cb?x=1', 'messageId', 'msg-1', 'status', 'delivered'))).toBe(withoutPort);
    expect(byHand(signedString('https://example.com:443/cb?x=1', 'messageId', 'msg-1', 'status', 'delivered'))).toBe(withDefaultPort);
    // PRODUCT.md §2.4: "with the port removed" (twilio-node's removePort drops any port).
    expect(validateReachSignature(key, withoutPort, 'https://example.com:8443/cb?x=1', params)).toBe(true);
    expect(validateReachSignature(key, withDefaultPort, 'https://example.com:8443/cb?x=1', params)).toBe(false);
    // A receiver that sees no port only tries the default one, never 8443.
    expect(validateReachSignature(key, 'XhBXMgp6B9TkA2j742bEL7woOAc=', 'https://example.com/cb?x=1', params)).toBe(false);
    expect(validateReachSignature(key, 'XhBXMgp6B9TkA2j742bEL7woOAc=', 'https://example.com:443/cb?x=1', params)).toBe(false);
  });

  describe('explicit default ports', () => {
    const params = { messageId: 'msg-1', status: 'queued' };
    const vectors = {
      'https://example.com/cb?x=1': 'p1QcL+k6NZqUdhruAyKvhBm4dV8=',
      'https://example.com:443/cb?x=1': 'I+jEsXAHeEwqC5nw0BjxfF/Ou28=',
      'http://example.com/cb': 'L0W8sbsHB6anNpavHfili+n/6pE=',
      'http://example.com:80/cb': 'KmcpEAQEWrsIHnCnd/Y/sam79vw=',
    } as const;

    it.each(Object.entries(vectors))('the vector for %s', (url, expected) => {
      expect(byHand(signedString(url, 'messageId', 'msg-1', 'status', 'queued'))).toBe(expected);
      expect(reachSignature(key, url, params)).toBe(expected);
    });

    it.each([
      ['signed without :443, received with it', 'https://example.com/cb?x=1', 'https://example.com:443/cb?x=1'],
      ['signed with :443, received without it', 'https://example.com:443/cb?x=1', 'https://example.com/cb?x=1'],
      ['signed without :80, received with it', 'http://example.com/cb', 'http://example.com:80/cb'],
      ['signed with :80, received without it', 'http://example.com:80/cb', 'http://example.com/cb'],
    ] as const)('accepts a signature %s', (_label, signedUrl, receivedUrl) => {
      expect(validateReachSignature(key, vectors[signedUrl], receivedUrl, params)).toBe(true);
    });

    it('does not cross schemes: :443 is not the default of http, nor :80 of https', () => {
      expect(validateReachSignature(key, reachSignature(key, 'http://example.com:443/cb', params), 'http://example.com/cb', params)).toBe(false);
      expect(validateReachSignature(key, reachSignature(key, 'https://example.com:80/cb?x=1', params), 'https://example.com/cb?x=1', params)).toBe(false);
    });
  });
});
