import { createCipheriv, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { AccountsError } from './accounts.errors';
import { openConnectorPassword, sealConnectorPassword } from './connector-password';

const secret = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const otherSecret = Buffer.from('202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f', 'hex');
const secretBytes = fc.uint8Array({ minLength: 32, maxLength: 64 }).map((bytes) => Buffer.from(bytes));

function expectUnreadable(open: () => unknown): void {
  let thrown: unknown;
  try {
    open();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(AccountsError);
  expect(thrown).toMatchObject({ code: 'CONNECTOR_PASSWORD_UNREADABLE' });
}

/** RFC 5869 HKDF-SHA256 written out with HMAC, independently of node's hkdfSync. */
function hkdfSha256(ikm: Buffer, info: string, length: number): Buffer {
  const prk = createHmac('sha256', Buffer.alloc(32)).update(ikm).digest();
  let block = Buffer.alloc(0);
  let okm = Buffer.alloc(0);
  for (let i = 1; okm.length < length; i += 1) {
    block = createHmac('sha256', prk).update(Buffer.concat([block, Buffer.from(info, 'utf8'), Buffer.of(i)])).digest();
    okm = Buffer.concat([okm, block]);
  }
  return okm.subarray(0, length);
}

describe('connector password sealing', () => {
  it('opens what it sealed, for any password and secret', () => {
    fc.assert(
      fc.property(secretBytes, fc.string({ unit: 'grapheme', maxLength: 64 }), (key, password) => {
        expect(openConnectorPassword(key, sealConnectorPassword(key, password))).toBe(password);
      }),
    );
  });

  it('lays the value out as version 1 | 12-byte nonce | 16-byte tag | ciphertext, with a new nonce every time', () => {
    const first = sealConnectorPassword(secret, 'secret12');
    const second = sealConnectorPassword(secret, 'secret12');
    expect(first).toHaveLength(1 + 12 + 16 + 8);
    expect(first[0]).toBe(1);
    expect(first.subarray(1, 13).equals(second.subarray(1, 13))).toBe(false);
    expect(first.equals(second)).toBe(false);
    expect(first.includes(Buffer.from('secret12'))).toBe(false);
  });

  it('opens a value sealed by an independent implementation of the documented scheme', () => {
    const key = hkdfSha256(secret, 'reach smpp connector password v1', 32);
    const nonce = Buffer.from('0a0b0c0d0e0f101112131415', 'hex');
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.of(1));
    const ciphertext = Buffer.concat([cipher.update('pa55w0rd', 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([Buffer.of(1), nonce, cipher.getAuthTag(), ciphertext]);
    expect(openConnectorPassword(secret, sealed)).toBe('pa55w0rd');
  });

  it('detects any altered byte', () => {
    const sealed = sealConnectorPassword(secret, 'secret12');
    for (let index = 0; index < sealed.length; index += 1) {
      const altered = Buffer.from(sealed);
      altered[index] = altered[index]! ^ 0x01;
      expectUnreadable(() => openConnectorPassword(secret, altered));
    }
  });

  it('detects truncated, extended and empty values', () => {
    const sealed = sealConnectorPassword(secret, 'secret12');
    expectUnreadable(() => openConnectorPassword(secret, sealed.subarray(0, sealed.length - 1)));
    expectUnreadable(() => openConnectorPassword(secret, Buffer.concat([sealed, Buffer.of(0)])));
    expectUnreadable(() => openConnectorPassword(secret, sealed.subarray(0, 20)));
    expectUnreadable(() => openConnectorPassword(secret, Buffer.alloc(0)));
  });

  it('cannot be opened under another platform secret', () => {
    const sealed = sealConnectorPassword(secret, 'secret12');
    expectUnreadable(() => openConnectorPassword(otherSecret, sealed));
    expect(() => openConnectorPassword(otherSecret, sealed)).toThrow(/another platform secret/);
  });

  it('refuses a platform secret shorter than 32 bytes', () => {
    expect(() => sealConnectorPassword(Buffer.alloc(31, 7), 'x')).toThrow(RangeError);
    expect(() => openConnectorPassword(Buffer.alloc(31, 7), sealConnectorPassword(secret, 'x'))).toThrow(RangeError);
  });
});
