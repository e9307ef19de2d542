import fc from 'fast-check';
import { countSegments, gsm7Septets, isEncodable, isGsm7 } from './segments';

const GSM_BASIC_EXPECTED =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENSION = '\f^{}\\[]~|€';
const EMOJI = '😀'; // U+1F600, a surrogate pair

describe('gsm7Septets / isGsm7', () => {
  it('knows the 127 characters of the GSM 03.38 default alphabet, one septet each', () => {
    const chars = [...GSM_BASIC_EXPECTED];
    expect(chars).toHaveLength(127);
    expect(new Set(chars).size).toBe(127);
    for (const c of chars) expect(gsm7Septets(c)).toBe(1);
  });

  it('counts the extension table (form feed ^ { } \\ [ ] ~ | €) as two septets', () => {
    for (const c of GSM_EXTENSION) expect(gsm7Septets(c)).toBe(2);
  });

  it.each(['ç', 'á', '\u2126' /* Ohm sign, not Ω */, '`', 'ê', '\t', '\u001b', 'Ą', '中', EMOJI, '\u00a0'])('refuses %j', (c) => {
    expect(gsm7Septets(c)).toBeNull();
    expect(isGsm7(`abc${c}`)).toBe(false);
  });

  it('accepts GSM-only text', () => {
    expect(isGsm7('Hello {world} €5 @home')).toBe(true);
    expect(isGsm7('')).toBe(true);
  });
});

describe('countSegments: GSM-7', () => {
  it('counts the empty body as one segment of zero units', () => {
    expect(countSegments('')).toEqual({ encoding: 'GSM-7', count: 1, units: 0 });
  });

  it('uses the seed example as one GSM-7 segment', () => {
    expect(countSegments('Your verification code is 482910')).toEqual({ encoding: 'GSM-7', count: 1, units: 32 });
  });

  it.each([
    [1, 1],
    [160, 1],
    [161, 2],
    [306, 2],
    [307, 3],
    [459, 3],
    [460, 4],
    [1530, 10],
    [1531, 11],
    [1600, 11],
  ])('%i basic characters → %i segment(s)', (length, count) => {
    expect(countSegments('a'.repeat(length))).toEqual({ encoding: 'GSM-7', count, units: length });
  });

  it('counts extension characters as two septets against the 160 limit', () => {
    expect(countSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', count: 1, units: 160 });
    expect(countSegments(`${'a'.repeat(159)}€`)).toEqual({ encoding: 'GSM-7', count: 2, units: 161 });
    expect(countSegments(`${'a'.repeat(158)}€`)).toEqual({ encoding: 'GSM-7', count: 1, units: 160 });
    expect(countSegments(`${'a'.repeat(158)}\f`)).toEqual({ encoding: 'GSM-7', count: 1, units: 160 });
  });

  it('never splits an escape pair: a part that would end with the escape takes 152', () => {
    // 152 + 2 = 154 > 153: the € moves to part 2, and part 2 then holds 2 + 152 = 154 > 153.
    const a = `${'a'.repeat(152)}€${'a'.repeat(152)}`;
    expect(countSegments(a)).toEqual({ encoding: 'GSM-7', count: 3, units: 306 });
    // Without that rule 306 septets would fit two parts of 153.
    expect(countSegments('a'.repeat(306))).toEqual({ encoding: 'GSM-7', count: 2, units: 306 });
    // The escape pair fits exactly at the end of part 1 (151 + 2 = 153).
    expect(countSegments(`${'a'.repeat(151)}€${'a'.repeat(153)}`)).toEqual({ encoding: 'GSM-7', count: 2, units: 306 });
  });

  it('all-extension bodies carry 76 characters per part', () => {
    expect(countSegments('€'.repeat(81))).toEqual({ encoding: 'GSM-7', count: 2, units: 162 });
    expect(countSegments('€'.repeat(152))).toEqual({ encoding: 'GSM-7', count: 2, units: 304 });
    expect(countSegments('€'.repeat(153))).toEqual({ encoding: 'GSM-7', count: 3, units: 306 });
  });

  it('counts newline and carriage return as one septet each', () => {
    expect(countSegments('a\r\nb')).toEqual({ encoding: 'GSM-7', count: 1, units: 4 });
  });
});

describe('countSegments: UCS-2', () => {
  it('switches the whole message to UCS-2 for one non-GSM character', () => {
    expect(countSegments(`${'a'.repeat(100)}ç`)).toEqual({ encoding: 'UCS-2', count: 2, units: 101 });
  });

  it.each([
    [70, 1],
    [71, 2],
    [134, 2],
    [135, 3],
    [201, 3],
    [202, 4],
  ])('%i UCS-2 units → %i segment(s)', (length, count) => {
    expect(countSegments('ж'.repeat(length))).toEqual({ encoding: 'UCS-2', count, units: length });
  });

  it('counts characters outside the BMP as two units', () => {
    expect(countSegments(EMOJI)).toEqual({ encoding: 'UCS-2', count: 1, units: 2 });
    expect(countSegments(EMOJI.repeat(35))).toEqual({ encoding: 'UCS-2', count: 1, units: 70 });
    expect(countSegments(`${'a'.repeat(69)}${EMOJI}`)).toEqual({ encoding: 'UCS-2', count: 2, units: 71 });
  });

  it('never splits a surrogate pair: a part that would end with its first half takes 66', () => {
    const split = `${'ж'.repeat(66)}${EMOJI}${'ж'.repeat(66)}`;
    expect(countSegments(split)).toEqual({ encoding: 'UCS-2', count: 3, units: 134 });
    expect(countSegments('ж'.repeat(134))).toEqual({ encoding: 'UCS-2', count: 2, units: 134 });
    expect(countSegments(`${'ж'.repeat(65)}${EMOJI}${'ж'.repeat(67)}`)).toEqual({ encoding: 'UCS-2', count: 2, units: 134 });
  });

  it('counts a lone surrogate as one UCS-2 unit', () => {
    expect(countSegments('a\ud800')).toEqual({ encoding: 'UCS-2', count: 1, units: 2 });
  });
});

describe('isEncodable', () => {
  it.each(['', 'hello', 'ж', EMOJI, `a${EMOJI}b`, '€'])('accepts %j', (s) => expect(isEncodable(s)).toBe(true));
  it.each(['\ud800', '\udc00', 'a\ud83d', '\ude00b', '\ude00\ud83d', `${EMOJI}\ud83d`])('refuses lone surrogates in %j', (s) =>
    expect(isEncodable(s)).toBe(false),
  );

  it('agrees with String.prototype.isWellFormed', () => {
    const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => isEncodable(s) === isWellFormed(s)));
  });
});

describe('countSegments properties', () => {
  const gsmChar = fc.constantFrom(...GSM_BASIC_EXPECTED, ...GSM_EXTENSION);
  const anyChar = fc.oneof(gsmChar, fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 1 }), fc.constant(EMOJI));
  // Runs of repeated characters reach the part boundaries (hundreds of units) far more often than
  // uniformly random strings of the default size would.
  const runsOf = (char: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc
      .array(fc.record({ char, times: fc.integer({ min: 1, max: 160 }) }), { maxLength: 12 })
      .map((runs) => runs.map(({ char: c, times }) => c.repeat(times)).join(''));
  const gsmString = runsOf(gsmChar);
  const anyString = runsOf(anyChar);

  it('never decreases when a character is appended', () => {
    fc.assert(
      fc.property(anyString, anyChar, (s, c) => {
        expect(countSegments(s + c).count).toBeGreaterThanOrEqual(countSegments(s).count);
      }),
    );
  });

  it('reports GSM-7 for GSM-only strings, with units = septets', () => {
    fc.assert(
      fc.property(gsmString, (s) => {
        const result = countSegments(s);
        expect(result.encoding).toBe('GSM-7');
        const septets = [...s].reduce((n, c) => n + (GSM_EXTENSION.includes(c) ? 2 : 1), 0);
        expect(result.units).toBe(septets);
      }),
    );
  });

  it('reports UCS-2 for any string holding a non-GSM character, with units = UTF-16 length', () => {
    const nonGsm = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => [...c].some((x) => gsm7Septets(x) === null));
    fc.assert(
      fc.property(gsmString, nonGsm, gsmString, (a, c, b) => {
        const result = countSegments(a + c + b);
        expect(result.encoding).toBe('UCS-2');
        expect(result.units).toBe((a + c + b).length);
      }),
    );
  });

  it('stays within the bounds of the part sizes', () => {
    fc.assert(
      fc.property(fc.oneof(gsmString, anyString), (s) => {
        expect(countSegments(s).count).toBeGreaterThanOrEqual(1);
        const { encoding, count, units } = countSegments(s);
        const [single, part] = encoding === 'GSM-7' ? [160, 153] : [70, 67];
        if (units <= single) {
          expect(count).toBe(1);
        } else {
          expect(count).toBeGreaterThanOrEqual(Math.ceil(units / part));
          // Every part but the last gives up at most one unit to an unsplittable pair.
          expect(count).toBeLessThanOrEqual(Math.ceil(units / (part - 1)));
        }
      }),
    );
  });
});
