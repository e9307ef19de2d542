import fc from 'fast-check';
import { checkBalance, checkMaxPrice, defaultPriceTable, parsePriceTable, priceMessage, type PriceTable } from './pricing';

const table: PriceTable = { unit: 'usd', defaultPerSegment: 0.05, perSegment: { US: 0.0079, CM: 0.0335, GB: 0.04 } };

describe('defaultPriceTable', () => {
  it('prices in USD with the sample prices', () => {
    expect(defaultPriceTable).toMatchObject({ unit: 'usd', defaultPerSegment: 0.05, perSegment: { US: 0.0079, CM: 0.0335, GB: 0.04 } });
  });

  it('is frozen, and survives a round trip through parsePriceTable', () => {
    expect(Object.isFrozen(defaultPriceTable)).toBe(true);
    expect(Object.isFrozen(defaultPriceTable.perSegment)).toBe(true);
    expect(parsePriceTable(JSON.stringify(defaultPriceTable))).toEqual(defaultPriceTable);
  });
});

describe('parsePriceTable', () => {
  it('reads JSON text or a parsed value, lower-casing the unit and upper-casing countries', () => {
    const expected = { unit: 'xaf', defaultPerSegment: 30, perSegment: { CM: 25, NG: 28 } };
    expect(parsePriceTable('{"unit":"XAF","defaultPerSegment":30,"perSegment":{"cm":25,"NG":28}}')).toEqual(expected);
    expect(parsePriceTable({ unit: 'xaf', defaultPerSegment: 30, perSegment: { CM: 25, ng: 28 } })).toEqual(expected);
  });

  it('allows a table without per-country prices, and free messages', () => {
    expect(parsePriceTable({ unit: 'eur', defaultPerSegment: 0 })).toEqual({ unit: 'eur', defaultPerSegment: 0, perSegment: {} });
  });

  it('returns a frozen table', () => {
    const parsed = parsePriceTable({ unit: 'usd', defaultPerSegment: 1, perSegment: { US: 1 } });
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(Object.isFrozen(parsed.perSegment)).toBe(true);
  });

  it.each([
    ['not JSON', '{unit:usd}', /not valid JSON/],
    ['not an object', '[]', /invalid price table/],
    ['no unit', { defaultPerSegment: 1 }, /unit/],
    ['a bad unit', { unit: 'dollars', defaultPerSegment: 1 }, /currency/],
    ['no default', { unit: 'usd' }, /defaultPerSegment/],
    ['a negative default', { unit: 'usd', defaultPerSegment: -0.01 }, /defaultPerSegment/],
    ['a price as text', { unit: 'usd', defaultPerSegment: '0.05' }, /defaultPerSegment/],
    ['a bad country code', { unit: 'usd', defaultPerSegment: 1, perSegment: { USA: 1 } }, /perSegment/],
    ['a negative country price', { unit: 'usd', defaultPerSegment: 1, perSegment: { US: -1 } }, /perSegment/],
    ['an unknown key (a typo)', { unit: 'usd', defaultPerSegment: 1, perSegement: { US: 1 } }, /perSegement/],
    ['a country twice', { unit: 'usd', defaultPerSegment: 1, perSegment: { us: 1, US: 2 } }, /US is listed twice/],
  ])('refuses %s', (_why, json, message) => {
    expect(() => parsePriceTable(json)).toThrow(message);
  });
});

describe('priceMessage', () => {
  it('prices by the destination country, per segment', () => {
    expect(priceMessage(table, 'US', 1)).toEqual({ amount: 0.0079, unit: 'usd' });
    expect(priceMessage(table, 'US', 3)).toEqual({ amount: 0.0237, unit: 'usd' });
    expect(priceMessage(table, 'CM', 10)).toEqual({ amount: 0.335, unit: 'usd' });
    expect(priceMessage(table, 'gb', 2)).toEqual({ amount: 0.08, unit: 'usd' });
  });

  it('uses the default for an unknown country and for non-geographic numbers', () => {
    expect(priceMessage(table, 'FR', 2)).toEqual({ amount: 0.1, unit: 'usd' });
    expect(priceMessage(table, null, 1)).toEqual({ amount: 0.05, unit: 'usd' });
  });

  it('does not mistake Object.prototype members for countries', () => {
    expect(priceMessage(table, 'constructor', 1).amount).toBe(0.05);
    expect(priceMessage(table, '__proto__', 1).amount).toBe(0.05);
  });

  it('rounds to 6 decimals', () => {
    const third = { unit: 'usd', defaultPerSegment: 1 / 3, perSegment: {} };
    expect(priceMessage(third, null, 2).amount).toBe(0.666667);
    expect(priceMessage({ unit: 'usd', defaultPerSegment: 0.0000005, perSegment: {} }, null, 1).amount).toBe(0.000001);
  });

  it.each([-1, 1.5, Number.NaN])('refuses %p segments', (segments) => {
    expect(() => priceMessage(table, 'US', segments)).toThrow(RangeError);
  });

  it('grows with the segments and is never negative', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.integer({ min: 0, max: 10 }),
        fc.constantFrom('US', 'CM', 'XX', null),
        (price, segments, country) => {
          const t = { unit: 'usd', defaultPerSegment: price, perSegment: { US: price, CM: price / 2 } };
          const one = priceMessage(t, country, segments).amount;
          expect(one).toBeGreaterThanOrEqual(0);
          expect(priceMessage(t, country, segments + 1).amount).toBeGreaterThanOrEqual(one);
          expect(Math.round(one * 1e6) / 1e6).toBe(one);
        },
      ),
    );
  });
});

describe('checkMaxPrice (20201)', () => {
  const price = { amount: 0.0335, unit: 'usd' };

  it('passes without a maxPrice, and at or under it', () => {
    expect(checkMaxPrice(price, null)).toEqual({ ok: true });
    expect(checkMaxPrice(price, 0.0335)).toEqual({ ok: true });
    expect(checkMaxPrice(price, 1)).toEqual({ ok: true });
  });

  it('fails above it', () => {
    expect(checkMaxPrice(price, 0.0334)).toEqual({
      ok: false,
      error: {
        status: 400,
        errorCode: 20201,
        errorMessage: 'The message costs 0.0335 usd, more than maxPrice 0.0334',
        errorDetails: { price: 0.0335, priceUnit: 'usd', maxPrice: 0.0334 },
      },
    });
  });
});

describe('checkBalance (20202)', () => {
  const price = { amount: 0.0237, unit: 'usd' };

  it('always passes a postpaid account (null balance)', () => {
    expect(checkBalance(null, price)).toEqual({ ok: true });
    expect(checkBalance(null, { amount: 1e9, unit: 'usd' })).toEqual({ ok: true });
  });

  it('passes a balance that covers the price, to exactly 0', () => {
    expect(checkBalance(0.0237, price)).toEqual({ ok: true });
    expect(checkBalance(5, price)).toEqual({ ok: true });
    expect(checkBalance(0, { amount: 0, unit: 'usd' })).toEqual({ ok: true });
  });

  it('fails a balance short of the price with 402', () => {
    expect(checkBalance(0.0236, price)).toEqual({
      ok: false,
      error: {
        status: 402,
        errorCode: 20202,
        errorMessage: 'Insufficient balance: the message costs 0.0237 usd',
        errorDetails: { price: 0.0237, priceUnit: 'usd' },
      },
    });
    expect(checkBalance(0, price).ok).toBe(false);
  });
});
