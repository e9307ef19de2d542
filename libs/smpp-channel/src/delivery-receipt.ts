import { SmppMalformedReceiptError } from './smpp.errors';

/**
 * SMSC delivery receipts (PRODUCT.md §4). The text form is the de-facto SMPP 3.4 Appendix B
 * format `id:… sub:… dlvrd:… submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000
 * text:…`; when the `receipted_message_id` and `message_state` TLVs are present they win over
 * the text (SMPP 3.4 §5.3.2.12 / §5.3.2.35), the text still supplies dates and err.
 */

export type ReceiptOutcome = 'delivered' | 'undelivered';

export type DeliveryReceipt =
  | {
      readonly kind: 'final';
      /** The carrier message id (as returned in submit_sm_resp). */
      readonly messageId: string;
      readonly outcome: ReceiptOutcome;
      /** The stat word (DELIVRD, EXPIRED, …), derived from message_state when that TLV is present. */
      readonly stat: string;
      /** The err field of the text, as sent (e.g. `000`), or null when absent. */
      readonly err: string | null;
      /** The done date `YYMMDDhhmm` (seconds dropped when the SMSC sends them), or null when absent. */
      readonly dlrDate: string | null;
      readonly submitDate: string | null;
    }
  | { readonly kind: 'intermediate'; readonly messageId: string; readonly stat: string };

export type ReceiptParseResult = { readonly ok: true; readonly receipt: DeliveryReceipt } | { readonly ok: false; readonly error: SmppMalformedReceiptError };

export interface ReceiptInput {
  readonly text: string;
  readonly receiptedMessageId?: string | undefined;
  readonly messageState?: number | undefined;
}

type StatClass = 'delivered' | 'undelivered' | 'intermediate';

const STAT_CLASS: Readonly<Record<string, StatClass>> = {
  DELIVRD: 'delivered',
  EXPIRED: 'undelivered',
  DELETED: 'undelivered',
  UNDELIV: 'undelivered',
  REJECTD: 'undelivered',
  UNKNOWN: 'undelivered',
  ACCEPTD: 'intermediate',
  ENROUTE: 'intermediate',
};

/**
 * message_state (SMPP 3.4 §5.2.28) as the stat word of the text form. SCHEDULED (0) is not yet
 * final; SKIPPED (9, SMPP 5.0) never reaches the handset, so it is undelivered.
 */
const MESSAGE_STATE: Readonly<Record<number, { readonly stat: string; readonly cls: StatClass }>> = {
  0: { stat: 'SCHEDULED', cls: 'intermediate' },
  1: { stat: 'ENROUTE', cls: 'intermediate' },
  2: { stat: 'DELIVRD', cls: 'delivered' },
  3: { stat: 'EXPIRED', cls: 'undelivered' },
  4: { stat: 'DELETED', cls: 'undelivered' },
  5: { stat: 'UNDELIV', cls: 'undelivered' },
  6: { stat: 'ACCEPTD', cls: 'intermediate' },
  7: { stat: 'UNKNOWN', cls: 'undelivered' },
  8: { stat: 'REJECTD', cls: 'undelivered' },
  9: { stat: 'SKIPPED', cls: 'undelivered' },
};

const field = (text: string, name: string, value: string): string | null => {
  const match = new RegExp(`(?:^|\\s)${name}:(${value})`, 'i').exec(text);
  return match?.[1] ?? null;
};

/** `YYMMDDhhmm` (optionally `ss`): keeps the first ten digits, checks the calendar ranges. */
const receiptDate = (text: string, name: string): { readonly value: string | null; readonly invalid: boolean } => {
  const raw = field(text, name, '\\d+');
  if (raw === null) return { value: null, invalid: false };
  const valid =
    (raw.length === 10 || raw.length === 12) &&
    inRange(raw.slice(2, 4), 1, 12) &&
    inRange(raw.slice(4, 6), 1, 31) &&
    inRange(raw.slice(6, 8), 0, 23) &&
    inRange(raw.slice(8, 10), 0, 59);
  return valid ? { value: raw.slice(0, 10), invalid: false } : { value: null, invalid: true };
};

const inRange = (digits: string, min: number, max: number): boolean => {
  const n = Number(digits);
  return n >= min && n <= max;
};

/** Parses a receipt; never throws: anything that is not a receipt is a typed error in the result. */
export function parseDeliveryReceipt(input: ReceiptInput): ReceiptParseResult {
  const { text } = input;
  const fail = (reason: string): ReceiptParseResult => ({ ok: false, error: new SmppMalformedReceiptError(reason, text) });

  const tlvId = input.receiptedMessageId?.trim();
  const messageId = tlvId ? tlvId : field(text, 'id', '[^\\s]+');
  if (!messageId) return fail('no message id (neither receipted_message_id nor id:)');

  let stat: string;
  let cls: StatClass;
  if (input.messageState !== undefined) {
    const state = MESSAGE_STATE[input.messageState];
    if (!state) return fail(`unknown message_state ${input.messageState}`);
    ({ stat, cls } = state);
  } else {
    const word = field(text, 'stat', '[A-Za-z]+')?.toUpperCase();
    if (!word) return fail('no stat: and no message_state');
    const known = STAT_CLASS[word];
    if (!known) return fail(`unknown stat ${word}`);
    stat = word;
    cls = known;
  }

  if (cls === 'intermediate') return { ok: true, receipt: { kind: 'intermediate', messageId, stat } };

  const done = receiptDate(text, 'done date');
  const submit = receiptDate(text, 'submit date');
  if (done.invalid) return fail('done date is not YYMMDDhhmm');
  if (submit.invalid) return fail('submit date is not YYMMDDhhmm');
  return {
    ok: true,
    receipt: {
      kind: 'final',
      messageId,
      outcome: cls,
      stat,
      err: field(text, 'err', '[0-9A-Za-z]+'),
      dlrDate: done.value,
      submitDate: submit.value,
    },
  };
}

/** The text an SMSC sends (used by the simulator and tests): SMPP 3.4 Appendix B layout. */
export function formatDeliveryReceipt(r: {
  readonly messageId: string;
  readonly stat: string;
  readonly err: string;
  readonly submitDate: string;
  readonly doneDate: string;
  readonly text: string;
}): string {
  const dlvrd = r.stat === 'DELIVRD' ? '001' : '000';
  return `id:${r.messageId} sub:001 dlvrd:${dlvrd} submit date:${r.submitDate} done date:${r.doneDate} stat:${r.stat} err:${r.err} text:${r.text.slice(0, 20)}`;
}

/** `YYMMDDhhmm` in UTC. */
export function receiptDateOf(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}`;
}
