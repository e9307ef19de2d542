import fc from 'fast-check';
import { isValidSenderId, senderIdProblem, SENDER_ID_MAX_LENGTH } from './sender-id';

const letter = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
const senderChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ');

describe('sender ids', () => {
  it('accepts any letter followed by up to 10 letters, digits or spaces', () => {
    const sender = fc
      .tuple(letter, fc.array(senderChar, { maxLength: 10 }))
      .map(([first, rest]) => first + rest.join(''));
    fc.assert(
      fc.property(sender, (value) => {
        expect(value).toMatch(/^[A-Za-z][A-Za-z0-9 ]{0,10}$/);
        expect(isValidSenderId(value)).toBe(true);
        expect(senderIdProblem(value)).toBeNull();
      }),
    );
  });

  it('accepts a letter anywhere, not only first', () => {
    expect(isValidSenderId('2FA')).toBe(true);
    expect(isValidSenderId('  Acme 24  ')).toBe(true);
    expect(isValidSenderId('12345678 9x')).toBe(true);
  });

  it('refuses more than 11 characters', () => {
    expect(SENDER_ID_MAX_LENGTH).toBe(11);
    expect(isValidSenderId('ABCDEFGHIJK')).toBe(true);
    expect(isValidSenderId('ABCDEFGHIJKL')).toBe(false);
    expect(senderIdProblem('ABCDEFGHIJKL')).toBe('must be at most 11 characters (has 12)');
    fc.assert(fc.property(fc.array(senderChar, { minLength: 12, maxLength: 40 }), (chars) => !isValidSenderId(chars.join(''))));
  });

  it('refuses ids without a letter: digits only, spaces only, empty', () => {
    for (const value of ['12345', '0', '           ', ' ', '']) expect(isValidSenderId(value)).toBe(false);
    expect(senderIdProblem('12345')).toBe('must contain at least one letter');
    expect(senderIdProblem('')).toBe('must not be empty');
    fc.assert(fc.property(fc.stringMatching(/^[0-9 ]{1,11}$/), (value) => !isValidSenderId(value)));
  });

  it('refuses punctuation, control characters and anything outside ASCII letters and digits', () => {
    for (const value of ['Acme!', 'Acme-Co', 'Acme_Co', 'A.B', 'Acme\n', 'Acme\t', 'Café', 'Ａcme', 'Acme😀', 'ß']) {
      expect(isValidSenderId(value)).toBe(false);
    }
    expect(senderIdProblem('Acme-Co')).toBe('may only hold letters A–Z, digits and spaces');
    const valid = fc.tuple(letter, fc.array(senderChar, { maxLength: 9 })).map(([first, rest]) => first + rest.join(''));
    const outsider = fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }).filter((c) => !/^[A-Za-z0-9 ]$/.test(c));
    fc.assert(
      fc.property(valid, outsider, fc.nat(), (value, bad, at) => {
        const position = at % (value.length + 1);
        return !isValidSenderId(value.slice(0, position) + bad + value.slice(position));
      }),
    );
  });
});
