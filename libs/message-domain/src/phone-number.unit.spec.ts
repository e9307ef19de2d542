import { parseE164 } from './phone-number';

describe('parseE164', () => {
  it.each([
    ['+14155552671', 'US'],
    ['+14155553000', 'US'],
    ['+237671234567', 'CM'],
    ['+237691234567', 'CM'],
    ['+442071838750', 'GB'],
    ['+4915112345678', 'DE'],
  ])('accepts %s (%s)', (input, country) => {
    expect(parseE164(input)).toEqual({ ok: true, e164: input, country });
  });

  it('gives country null for non-geographic numbers', () => {
    expect(parseE164('+80012345678')).toEqual({ ok: true, e164: '+80012345678', country: null });
  });

  it.each([
    ['too short', '+1234'],
    ['no plus', '4155552671'],
    ['no plus, with country code', '14155552671'],
    ['spaces', '+1 415 555 2671'],
    ['dashes', '+1-415-555-2671'],
    ['brackets', '+1 (415) 555-2671'],
    ['leading zero country code', '+0414155552671'],
    ['double plus', '++14155552671'],
    ['trailing space', '+14155552671 '],
    ['leading space', ' +14155552671'],
    ['extension', '+14155552671;ext=1'],
    ['letters', '+1415555CALL'],
    ['more than 15 digits', '+1415555267123456'],
    ['one digit too many for US', '+141555526711'],
    ['one digit too few for US', '+1415555267'],
    ['unassigned US range', '+15555555555'],
    ['unknown country code', '+999123456789'],
    ['national prefix kept', '+4402071838750'],
    ['empty', ''],
    ['only plus', '+'],
    ['full-width digits', '+１4155552671'],
  ])('refuses %s: %j', (_label, input) => {
    const result = parseE164(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toEqual(expect.any(String));
  });

  it('refuses non-strings at runtime', () => {
    expect(parseE164(14155552671 as unknown as string).ok).toBe(false);
    expect(parseE164(null as unknown as string).ok).toBe(false);
  });

  it('explains a national prefix kept after the country code', () => {
    expect(parseE164('+4402071838750')).toEqual({ ok: false, reason: expect.stringContaining('+442071838750') });
  });
});
