import type { TextEncoding } from '@reach/contracts';

/**
 * SMS segmentation (PRODUCT.md §4).
 *
 * GSM-7: 160 septets in a single segment, 153 per part once split (the other 7 septets carry the
 * concatenation header). Extension-table characters are an escape septet plus one more, and that
 * pair is never split across parts: a part that would end with the escape takes only 152.
 *
 * UCS-2: a single character outside GSM-7 makes the whole message UCS-2, 70 UTF-16 units in a
 * single segment and 67 per part. Characters outside the BMP take two units (a surrogate pair)
 * and a pair is never split across parts, so such a part may carry 66.
 *
 * The character sets are exact (GSM 03.38 default alphabet, no national shift tables, no
 * look-alike substitution): `ç` is not `Ç`, and the Ohm sign is not `Ω`.
 */

/** The GSM 03.38 default alphabet (one septet each), in code-point order 0x00…0x7F minus ESC. */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ' + // 0x00–0x1A (0x1B is the escape)
  'ÆæßÉ' + // 0x1C–0x1F
  ' !"#¤%&\'()*+,-./0123456789:;<=>?' + // 0x20–0x3F
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§' + // 0x40–0x5F
  '¿abcdefghijklmnopqrstuvwxyzäöñüà'; // 0x60–0x7F

/** The extension table reachable through the escape (two septets each); `\f` is form feed. */
const GSM7_EXTENSION = '\f^{}\\[]~|€';

const basicSet: ReadonlySet<string> = new Set(GSM7_BASIC);
const extensionSet: ReadonlySet<string> = new Set(GSM7_EXTENSION);

export const GSM7_SINGLE_SEGMENT_SEPTETS = 160;
export const GSM7_PART_SEPTETS = 153;
export const UCS2_SINGLE_SEGMENT_UNITS = 70;
export const UCS2_PART_UNITS = 67;

export interface SegmentCount {
  readonly encoding: TextEncoding;
  /** Number of SMS segments (parts) the body is sent as; at least 1. */
  readonly count: number;
  /** GSM-7 septets or UCS-2 (UTF-16) code units of the whole body. */
  readonly units: number;
}

/** Septets a character takes in GSM-7 (1 basic, 2 extension), or null when GSM-7 cannot carry it. */
export function gsm7Septets(char: string): 1 | 2 | null {
  if (basicSet.has(char)) return 1;
  if (extensionSet.has(char)) return 2;
  return null;
}

/** True when every character of the body is in the GSM-7 default alphabet or its extension table. */
export function isGsm7(body: string): boolean {
  for (const char of body) {
    if (gsm7Septets(char) === null) return false;
  }
  return true;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * False when the string holds a lone (unpaired) surrogate: such a string is not valid Unicode
 * and cannot be carried by UCS-2/UTF-16 on the air either. Every other string is encodable,
 * in GSM-7 when possible, otherwise in UCS-2.
 */
export function isEncodable(body: string): boolean {
  // Same as String.prototype.isWellFormed (ES2024; our lib target is ES2023).
  return !LONE_SURROGATE.test(body);
}

/**
 * Counts the segments a body is sent as. The empty body is counted as one segment of zero units
 * (an SMS always occupies at least one PDU); the APIs refuse empty bodies before this is asked.
 *
 * A lone surrogate (see `isEncodable`) is counted as one UCS-2 unit; callers refuse such bodies.
 */
export function countSegments(body: string): SegmentCount {
  // Iterating a string yields code points: a surrogate pair arrives as one 2-unit item, a lone
  // surrogate as a 1-unit item. Splitting between items therefore never splits a pair.
  const chars = [...body];
  const septets = chars.map(gsm7Septets);
  if (septets.every((s): s is 1 | 2 => s !== null)) {
    return { encoding: 'GSM-7', ...pack(septets, GSM7_SINGLE_SEGMENT_SEPTETS, GSM7_PART_SEPTETS) };
  }
  const utf16Units = chars.map((c) => c.length);
  return { encoding: 'UCS-2', ...pack(utf16Units, UCS2_SINGLE_SEGMENT_UNITS, UCS2_PART_UNITS) };
}

/**
 * Packs indivisible items (a character's septets or code units) into parts: everything in one
 * segment when it fits `single`, otherwise greedily into parts of at most `part` units, never
 * splitting an item. Greedy is what handsets and SMSCs do, and it is optimal for in-order packing.
 */
function pack(itemSizes: readonly number[], single: number, part: number): { count: number; units: number } {
  const units = itemSizes.reduce((sum, size) => sum + size, 0);
  if (units <= single) return { count: 1, units };
  let count = 1;
  let inPart = 0;
  for (const size of itemSizes) {
    if (inPart + size > part) {
      count += 1;
      inPart = 0;
    }
    inPart += size;
  }
  return { count, units };
}
