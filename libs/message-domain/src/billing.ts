import type { BillingTerms } from '@reach/contracts';

/**
 * The overage charge of one message (ReachCell `cost_usd`, PRODUCT.md §1): null while the whole
 * message fits in what is left of the monthly allowance; otherwise the price of the segments
 * beyond it, rounded to 6 decimals (the read model's numeric(12, 6)). A message straddling the
 * allowance pays only for its segments past it. A zero overage price gives 0, not null: the
 * message is beyond the allowance, it just costs nothing.
 *
 * `segmentsUsedBefore` is the account's segment usage this month before this message.
 */
export function overageCost(terms: BillingTerms, segmentsUsedBefore: number, segmentsOfMessage: number): number | null {
  requireCount('monthlyAllowanceSegments', terms.monthlyAllowanceSegments);
  requireCount('segmentsUsedBefore', segmentsUsedBefore);
  requireCount('segmentsOfMessage', segmentsOfMessage);
  const price = terms.overagePricePerSegmentUsd;
  if (!Number.isFinite(price) || price < 0) throw new RangeError(`overagePricePerSegmentUsd must be a finite number ≥ 0, got ${price}`);

  const remaining = Math.max(0, terms.monthlyAllowanceSegments - segmentsUsedBefore);
  const billable = Math.max(0, segmentsOfMessage - remaining);
  if (billable === 0) return null;
  return roundTo6(price * billable);
}

function roundTo6(usd: number): number {
  // toPrecision(15) first drops binary noise (5e-7 * 1e6 is 0.49999999999999994), so halves
  // round up as written in decimal.
  return Math.round(Number((usd * 1e6).toPrecision(15))) / 1e6;
}

function requireCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number ≥ 0, got ${value}`);
}
