import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type ParseE164Result =
  | { readonly ok: true; readonly e164: string; readonly country: string | null }
  | { readonly ok: false; readonly reason: string };

/** The E.164 shape: `+`, a non-zero country-code digit, at most 15 digits in all, nothing else. */
export const E164_SHAPE = /^\+[1-9]\d{1,14}$/;

/**
 * Strict E.164 check for numbers our users type into API calls. The input must already be in
 * canonical E.164 form (no spaces, dashes, brackets, national prefix or missing `+`) AND be a
 * valid number by libphonenumber's full ("max") metadata, which checks number length and ranges
 * per country, not just the possible length. Nothing is normalised: when the input is accepted,
 * `e164` equals it.
 *
 * `country` is the ISO 3166-1 alpha-2 region, or null for non-geographic numbers (+800, +882…).
 */
export function parseE164(input: string): ParseE164Result {
  if (typeof input !== 'string') return { ok: false, reason: 'expected a string' };
  // A pure function of its input, and the same numbers come back all the time (a sender's own
  // number on every send): remember recent answers. Only E.164-shaped inputs are kept, so the
  // cache holds at most RECENT_LIMIT short strings.
  const remembered = recent.get(input);
  if (remembered) return remembered;
  const result = parseUncached(input);
  if (E164_SHAPE.test(input)) {
    if (recent.size >= RECENT_LIMIT) recent.delete(recent.keys().next().value as string);
    recent.set(input, result);
  }
  return result;
}

const RECENT_LIMIT = 10_000;
const recent = new Map<string, ParseE164Result>();

function parseUncached(input: string): ParseE164Result {
  if (!E164_SHAPE.test(input)) {
    return { ok: false, reason: 'not in E.164 form: "+" followed by the country code and number, digits only, e.g. +14155552671' };
  }
  const parsed = parsePhoneNumberFromString(input);
  if (parsed === undefined || !parsed.isValid()) return { ok: false, reason: 'not a valid phone number' };
  // e.g. +44 0 20…: libphonenumber drops the national prefix, and then this is not the canonical form.
  if (parsed.number !== input) return { ok: false, reason: `not in canonical E.164 form (did you mean ${parsed.number}?)` };
  return { ok: true, e164: input, country: parsed.country ?? null };
}

/** True when the input has the E.164 shape, without checking the number against metadata. */
export function hasE164Shape(input: string): boolean {
  return E164_SHAPE.test(input);
}
