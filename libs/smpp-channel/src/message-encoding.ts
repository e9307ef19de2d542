import {
  GSM7_PART_SEPTETS,
  GSM7_SINGLE_SEGMENT_SEPTETS,
  UCS2_PART_UNITS,
  UCS2_SINGLE_SEGMENT_UNITS,
  gsm7Septets,
} from '@reach/message-domain';
import { gsm7Encode } from './smpp-facade';

/**
 * How a body goes on the wire as submit_sm short_messages. The split follows the segment rules
 * of `@reach/message-domain` (its `countSegments` is the billing truth, and the part count here
 * always equals it): GSM-7 when every character is in the default alphabet or its extension
 * table, otherwise UCS-2; one part without UDH when it fits, otherwise parts of at most 153
 * septets / 67 UTF-16 units, never splitting an escape pair or a surrogate pair.
 */

/** SMPP data_coding: 0 = SMSC default alphabet (GSM 03.38, unpacked), 8 = UCS-2 (UTF-16BE). */
export type DataCoding = 0 | 8;

export const DATA_CODING_GSM7: DataCoding = 0;
export const DATA_CODING_UCS2: DataCoding = 8;

export interface EncodedPart {
  /** 1-based sequence within the message. */
  readonly seq: number;
  /** The text this part carries (a slice of the body). */
  readonly text: string;
  /** Concatenation UDH `05 00 03 ref total seq`, or null for a single-part message. */
  readonly udh: Buffer | null;
  /** UDH (when present) followed by the encoded text: the submit_sm short_message. */
  readonly shortMessage: Buffer;
}

export interface EncodedMessage {
  readonly dataCoding: DataCoding;
  readonly parts: readonly EncodedPart[];
}

/** Splits a body into part texts per the segment rules, with the data_coding it needs. */
export function splitBody(body: string): { readonly dataCoding: DataCoding; readonly texts: readonly string[] } {
  // Iterating a string yields code points, so a surrogate pair is one indivisible item.
  const chars = [...body];
  const septets = chars.map(gsm7Septets);
  if (septets.every((s): s is 1 | 2 => s !== null)) {
    return { dataCoding: DATA_CODING_GSM7, texts: pack(chars, septets, GSM7_SINGLE_SEGMENT_SEPTETS, GSM7_PART_SEPTETS) };
  }
  const units = chars.map((c) => c.length);
  return { dataCoding: DATA_CODING_UCS2, texts: pack(chars, units, UCS2_SINGLE_SEGMENT_UNITS, UCS2_PART_UNITS) };
}

/**
 * Encodes a body into submit_sm parts. `reference` is the 8-bit concatenation reference (0–255)
 * shared by all parts of this message; it comes in as an argument so this stays deterministic.
 * Callers refuse bodies with lone surrogates first (`isEncodable` in message-domain).
 */
export function encodeMessage(body: string, reference: number): EncodedMessage {
  if (!Number.isInteger(reference) || reference < 0 || reference > 0xff) {
    throw new RangeError(`Concatenation reference must be an integer 0–255, got ${reference}`);
  }
  const { dataCoding, texts } = splitBody(body);
  const total = texts.length;
  const parts = texts.map((text, index): EncodedPart => {
    const seq = index + 1;
    const payload = encodeText(text, dataCoding);
    const udh = total > 1 ? concatenationUdh(reference, total, seq) : null;
    return { seq, text, udh, shortMessage: udh ? Buffer.concat([udh, payload]) : payload };
  });
  return { dataCoding, parts };
}

/** The concatenation UDH with the 8-bit reference information element (IE 0x00, length 3). */
export function concatenationUdh(reference: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, reference & 0xff, total, seq]);
}

export function encodeText(text: string, dataCoding: DataCoding): Buffer {
  return dataCoding === DATA_CODING_GSM7 ? gsm7Encode(text) : Buffer.from(text, 'utf16le').swap16();
}

/** Greedy packing of indivisible items, as in message-domain's `countSegments` (greedy is optimal in order). */
function pack(chars: readonly string[], sizes: readonly number[], single: number, part: number): string[] {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total <= single) return [chars.join('')];
  const texts: string[] = [];
  let current = '';
  let inPart = 0;
  chars.forEach((char, i) => {
    const size = sizes[i] ?? 1;
    if (inPart + size > part) {
      texts.push(current);
      current = '';
      inPart = 0;
    }
    current += char;
    inPart += size;
  });
  texts.push(current);
  return texts;
}
