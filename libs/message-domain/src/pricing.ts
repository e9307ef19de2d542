import { z } from 'zod';
import { reachError, type ReachError } from './reach-errors';

/**
 * What a message costs by its destination country (Reach `price`/`priceUnit`, PRODUCT.md §2),
 * and the two checks that follow from it: `maxPrice` and a prepaid balance.
 *
 * A price table is configuration: deployments give it as JSON (an env var or a file), parsed
 * once at boot by `parsePriceTable`, which fails fast with a readable message.
 */
export interface PriceTable {
  /** Currency, lower case as the dialect writes `priceUnit` (`usd`, `xaf`, `eur`). */
  readonly unit: string;
  /** Per segment, for destinations without an entry (and non-geographic numbers). */
  readonly defaultPerSegment: number;
  /** Per segment, by ISO 3166-1 alpha-2 country code (upper case). */
  readonly perSegment: Readonly<Record<string, number>>;
}

export interface Price {
  readonly amount: number;
  readonly unit: string;
}

const perSegmentPrice = z.number().min(0);

const PriceTableSchema = z.strictObject({
  unit: z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'a 3-letter currency code such as usd')
    .transform((unit) => unit.toLowerCase()),
  defaultPerSegment: perSegmentPrice,
  perSegment: z
    .record(z.string().regex(/^[A-Za-z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as US'), perSegmentPrice)
    .default({}),
});

/** Sample prices in USD per segment; deployments should configure their own. */
export const defaultPriceTable: PriceTable = freeze({
  unit: 'usd',
  defaultPerSegment: 0.05,
  perSegment: { US: 0.0079, CA: 0.0079, CM: 0.0335, GB: 0.04, FR: 0.075, DE: 0.09, NG: 0.05, IN: 0.0025 },
});

/**
 * Parses a price table from JSON text or an already parsed value. Unknown keys are refused (a
 * typo would otherwise silently price everything at the default); the unit is lower-cased and
 * country codes upper-cased. Throws an Error naming every problem; the result is frozen.
 */
export function parsePriceTable(json: unknown): PriceTable {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new Error(`price table is not valid JSON: ${(error as Error).message}`);
    }
  }
  const parsed = PriceTableSchema.safeParse(value);
  if (!parsed.success) throw new Error(`invalid price table:\n${z.prettifyError(parsed.error)}`);
  const perSegment: Record<string, number> = {};
  for (const [country, price] of Object.entries(parsed.data.perSegment)) {
    const code = country.toUpperCase();
    if (Object.hasOwn(perSegment, code)) throw new Error(`invalid price table: country ${code} is listed twice`);
    perSegment[code] = price;
  }
  return freeze({ unit: parsed.data.unit, defaultPerSegment: parsed.data.defaultPerSegment, perSegment });
}

/**
 * The price of a message: the destination's per-segment price (the default when the country
 * is unknown or null) × segments, rounded to 6 decimals (numeric(14, 6) in the database).
 */
export function priceMessage(table: PriceTable, destCountry: string | null, segments: number): Price {
  if (!Number.isSafeInteger(segments) || segments < 0) throw new RangeError(`segments must be a whole number ≥ 0, got ${segments}`);
  const code = destCountry?.toUpperCase();
  const perSegment = code !== undefined && Object.hasOwn(table.perSegment, code) ? (table.perSegment[code] ?? table.defaultPerSegment) : table.defaultPerSegment;
  return { amount: roundTo6(perSegment * segments), unit: table.unit };
}

export type PriceCheck = { readonly ok: true } | { readonly ok: false; readonly error: ReachError };

/** 20201 when the price is above `maxPrice` (equal is fine); no maxPrice, no limit. */
export function checkMaxPrice(price: Price, maxPrice: number | null): PriceCheck {
  if (maxPrice === null || price.amount <= maxPrice) return { ok: true };
  return {
    ok: false,
    error: reachError('costAboveMaxPrice', `The message costs ${price.amount} ${price.unit}, more than maxPrice ${maxPrice}`, {
      price: price.amount,
      priceUnit: price.unit,
      maxPrice,
    }),
  };
}

/**
 * 20202 when a prepaid balance cannot pay the price (paying it down to exactly 0 is fine).
 * A null balance is a postpaid account: always fine. The balance is in the price's unit.
 */
export function checkBalance(balance: number | null, price: Price): PriceCheck {
  if (balance === null || price.amount <= balance) return { ok: true };
  return {
    ok: false,
    error: reachError('insufficientBalance', `Insufficient balance: the message costs ${price.amount} ${price.unit}`, {
      price: price.amount,
      priceUnit: price.unit,
    }),
  };
}

/** Same rounding as billing's overage: halves up as written in decimal, 6 decimals. */
function roundTo6(amount: number): number {
  return Math.round(Number((amount * 1e6).toPrecision(15))) / 1e6;
}

function freeze(table: PriceTable): PriceTable {
  return Object.freeze({ ...table, perSegment: Object.freeze({ ...table.perSegment }) });
}
