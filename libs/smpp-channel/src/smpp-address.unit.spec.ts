import fc from 'fast-check';
import { fromSmppAddress, relativeValidityPeriod, toSmppAddress } from './smpp-address';

describe('toSmppAddress', () => {
  it('sends E.164 numbers as digits with the numeric TON/NPI', () => {
    expect(toSmppAddress('+14155550100')).toEqual({ addr: '14155550100', ton: 1, npi: 1 });
    expect(toSmppAddress('+14155550100', { ton: 0, npi: 0 })).toEqual({ addr: '14155550100', ton: 0, npi: 0 });
    expect(toSmppAddress('12345', { ton: 3, npi: 0 })).toEqual({ addr: '12345', ton: 3, npi: 0 });
  });

  it('sends alphanumeric sender ids with TON 5 / NPI 0', () => {
    expect(toSmppAddress('ACME Shop', { ton: 1, npi: 1 })).toEqual({ addr: 'ACME Shop', ton: 5, npi: 0 });
  });
});

describe('fromSmppAddress', () => {
  it('writes international and unknown-TON digits as E.164', () => {
    expect(fromSmppAddress('14155550177', 1)).toBe('+14155550177');
    expect(fromSmppAddress('14155550177', 0)).toBe('+14155550177');
    expect(fromSmppAddress('+14155550177', undefined)).toBe('+14155550177');
  });

  it('keeps national numbers, short codes and alphanumeric originators as sent', () => {
    expect(fromSmppAddress('12345', 3)).toBe('12345');
    expect(fromSmppAddress('BANK', 5)).toBe('BANK');
  });
});

describe('relativeValidityPeriod', () => {
  it('writes days, hours, minutes and seconds with zero years and months', () => {
    expect(relativeValidityPeriod(3600)).toBe('000000010000');
    expect(relativeValidityPeriod(2 * 86_400 + 3 * 3600 + 4 * 60 + 5)).toBe('000002030405');
    expect(relativeValidityPeriod(59.9)).toBe('000000000059');
  });

  it('is at least one second and at most 99 days', () => {
    expect(relativeValidityPeriod(0)).toBe('000000000001');
    expect(relativeValidityPeriod(1e9)).toBe('000099235959');
  });

  it('always round-trips the seconds it can carry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99 * 86_400 }), (seconds) => {
        const v = relativeValidityPeriod(seconds);
        const [dd, hh, mm, ss] = [4, 6, 8, 10].map((i) => Number(v.slice(i, i + 2)));
        expect(v).toMatch(/^0000\d{8}$/);
        expect(dd! * 86_400 + hh! * 3600 + mm! * 60 + ss!).toBe(seconds);
      }),
    );
  });
});
