import fc from 'fast-check';
import { countSegments } from '@reach/message-domain';
import { DATA_CODING_GSM7, DATA_CODING_UCS2, encodeMessage, splitBody } from './message-encoding';

const udhOf = (buf: Buffer | null): number[] | null => (buf ? [...buf] : null);

describe('encodeMessage', () => {
  it('sends 160 GSM-7 characters as one part without UDH', () => {
    const encoded = encodeMessage('a'.repeat(160), 7);
    expect(encoded.dataCoding).toBe(DATA_CODING_GSM7);
    expect(encoded.parts).toHaveLength(1);
    expect(encoded.parts[0]?.udh).toBeNull();
    expect(encoded.parts[0]?.shortMessage).toHaveLength(160);
  });

  it('splits 161 GSM-7 characters into 153 + 8 with the concatenation UDH', () => {
    const encoded = encodeMessage('a'.repeat(161), 42);
    expect(encoded.parts.map((p) => p.text.length)).toEqual([153, 8]);
    expect(encoded.parts.map((p) => udhOf(p.udh))).toEqual([
      [0x05, 0x00, 0x03, 42, 2, 1],
      [0x05, 0x00, 0x03, 42, 2, 2],
    ]);
    expect(encoded.parts[0]?.shortMessage).toHaveLength(6 + 153);
  });

  it('counts extension characters as two septets (escape + code)', () => {
    const encoded = encodeMessage('€'.repeat(80), 0);
    expect(encoded.parts).toHaveLength(1);
    expect([...(encoded.parts[0]?.shortMessage ?? [])].slice(0, 2)).toEqual([0x1b, 0x65]);
    expect(encodeMessage('€'.repeat(81), 0).parts).toHaveLength(2);
  });

  it('never splits an escape pair: a part that would end with the escape carries 152 septets', () => {
    const encoded = encodeMessage('a'.repeat(152) + '{' + 'b'.repeat(10), 1);
    expect(encoded.parts.map((p) => p.text)).toEqual(['a'.repeat(152), '{' + 'b'.repeat(10)]);
  });

  it('encodes GSM-7 as unpacked septets of the default alphabet', () => {
    expect([...(encodeMessage('@£$ Aa', 0).parts[0]?.shortMessage ?? [])]).toEqual([0x00, 0x01, 0x02, 0x20, 0x41, 0x61]);
  });

  it('switches the whole message to UCS-2 for one character outside GSM-7 (70 single, 67 per part)', () => {
    const single = encodeMessage('ç' + 'a'.repeat(69), 0);
    expect(single.dataCoding).toBe(DATA_CODING_UCS2);
    expect(single.parts).toHaveLength(1);
    expect([...(single.parts[0]?.shortMessage ?? [])].slice(0, 4)).toEqual([0x00, 0xe7, 0x00, 0x61]);
    const split = encodeMessage('ç' + 'a'.repeat(70), 9);
    expect(split.parts.map((p) => p.text.length)).toEqual([67, 4]);
    expect(split.parts[0]?.shortMessage).toHaveLength(6 + 67 * 2);
  });

  it('splits UCS-2 with emoji on surrogate boundaries, never inside a pair', () => {
    const body = 'x' + '😀'.repeat(40); // 81 UTF-16 units
    const encoded = encodeMessage(body, 3);
    expect(encoded.parts.map((p) => p.text.length)).toEqual([67, 14]);
    expect(encoded.parts[0]?.text).toBe('x' + '😀'.repeat(33));
    const odd = encodeMessage('😀'.repeat(40), 3);
    expect(odd.parts.map((p) => p.text.length)).toEqual([66, 14]);
    expect(odd.parts.map((p) => p.text).join('')).toBe('😀'.repeat(40));
  });

  it('refuses a reference outside 0–255', () => {
    expect(() => encodeMessage('hi', 256)).toThrow(RangeError);
  });

  it('agrees with countSegments and loses nothing, for arbitrary bodies', () => {
    const alphabet = fc.constantFrom('a', 'Z', ' ', '€', '{', 'ç', 'é', '😀', 'Ж', '\n', '~');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 700 }).map((cs) => cs.join('')), fc.integer({ min: 0, max: 255 }), (body, ref) => {
        const { dataCoding, parts } = encodeMessage(body, ref);
        const segments = countSegments(body);
        expect(parts).toHaveLength(segments.count);
        expect(dataCoding).toBe(segments.encoding === 'GSM-7' ? DATA_CODING_GSM7 : DATA_CODING_UCS2);
        expect(parts.map((p) => p.text).join('')).toBe(body);
        for (const part of parts) {
          // No part starts with a low surrogate or ends with a high one.
          expect(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(part.text)).toBe(false);
          const limit = parts.length === 1 ? (dataCoding === 0 ? 160 : 140) : dataCoding === 0 ? 6 + 153 : 6 + 134;
          expect(part.shortMessage.length).toBeLessThanOrEqual(limit);
          expect(part.udh === null).toBe(parts.length === 1);
        }
      }),
    );
  });

  it('splitBody of the empty body is one empty part', () => {
    expect(splitBody('')).toEqual({ dataCoding: DATA_CODING_GSM7, texts: [''] });
  });
});
