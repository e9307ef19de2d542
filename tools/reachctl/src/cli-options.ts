import { InvalidArgumentError } from 'commander';

/** Commander option parsers: strict, so `--allowance 10k` is an error rather than 10. */
export function parseWholeNumber(value: string): number {
  if (!/^\d{1,10}$/.test(value)) throw new InvalidArgumentError('expected a whole number such as 1000.');
  return Number(value);
}

export function parseUsd(value: string): number {
  if (!/^\d{1,6}(\.\d{1,6})?$/.test(value)) throw new InvalidArgumentError('expected an amount in USD such as 0.0075.');
  return Number(value);
}

/** A balance: up to eight whole digits and six decimals, the range `numeric(14, 6)` holds. */
export function parseAmount(value: string): number {
  if (!/^\d{1,8}(\.\d{1,6})?$/.test(value)) throw new InvalidArgumentError('expected an amount such as 25 or 0.0075 (at most 6 decimals).');
  return Number(value);
}
