import { createHash } from 'node:crypto';
import { deliveryErrors } from '@reach/contracts';
import type { SmppMoMessage, SmppSubmitRejectedError } from '@reach/smpp-channel';
import type { SubmissionRow } from './smpp-submissions.repository';

/**
 * What SMPP facts mean for a message (pure): receipts per part → the message's outcome, submit
 * failures → failure codes, an MO → its idempotency key. PRODUCT.md §4 gives the stat words.
 */

/** A part's final receipt as stored in `smpp_submissions`. */
export interface PartReceipt {
  readonly outcome: 'delivered' | 'undelivered';
  /** DELIVRD, EXPIRED, DELETED, UNDELIV, REJECTD, UNKNOWN (SKIPPED from message_state 9). */
  readonly stat: string;
  readonly err: string | null;
  /** Done date `YYMMDDhhmm`. */
  readonly dlrDate: string | null;
}

export interface SubmittedPart extends SubmissionRow {
  readonly receipt: PartReceipt | null;
}

export type MessageReceiptDecision =
  | { readonly kind: 'pending'; readonly receipted: number; readonly total: number }
  | { readonly kind: 'delivered'; readonly dlrDate: string | null }
  | { readonly kind: 'undelivered'; readonly errorCode: number; readonly reason: string; readonly dlrDate: string | null; readonly partIndex: number };

export interface ChannelFailure {
  readonly code: number;
  readonly reason: string;
}

/**
 * The error of an undelivered receipt: EXPIRED is the validity running out at the SMSC (30001),
 * REJECTD the carrier refusing it (30004), anything else (UNDELIV, UNKNOWN, DELETED, SKIPPED) a
 * handset that could not be reached (30005). The reason keeps the carrier's stat and err.
 */
export function undeliveredError(receipt: Pick<PartReceipt, 'stat' | 'err'>): ChannelFailure {
  const base = errorOfStat(receipt.stat);
  return { code: base.code, reason: `${base.reason} (receipt stat ${receipt.stat}, err ${receipt.err ?? 'none'})` };
}

function errorOfStat(stat: string): { readonly code: number; readonly reason: string } {
  switch (stat) {
    case 'EXPIRED':
      return deliveryErrors.validityExpired;
    case 'REJECTD':
      return deliveryErrors.carrierRejected;
    default:
      return deliveryErrors.unreachableDestination;
  }
}

/**
 * The message's outcome from its parts' receipts. Delivered when every part is (dlrDate: the
 * latest done date); undelivered as soon as one part is — the message can no longer arrive
 * whole, and a missing receipt for another part must not hold that back (the first undelivered
 * part, by index, gives code and reason); otherwise still pending.
 */
export function decideMessageReceipt(parts: readonly SubmittedPart[]): MessageReceiptDecision {
  const total = Math.max(0, ...parts.map((p) => p.partCount));
  // A part submitted twice (at least once after a lost resp) counts by its first receipt.
  const byIndex = new Map<number, PartReceipt>();
  for (const part of parts) if (part.receipt && !byIndex.has(part.partIndex)) byIndex.set(part.partIndex, part.receipt);
  const ordered = [...byIndex.entries()].sort(([a], [b]) => a - b);
  const undelivered = ordered.find(([, r]) => r.outcome === 'undelivered');
  if (undelivered) {
    const [index, receipt] = undelivered;
    const error = undeliveredError(receipt);
    const reason = total > 1 ? `${error.reason} on part ${index} of ${total}` : error.reason;
    return { kind: 'undelivered', errorCode: error.code, reason, dlrDate: receipt.dlrDate, partIndex: index };
  }
  const delivered = ordered.filter(([index]) => index >= 1 && index <= total);
  if (total === 0 || delivered.length < total) return { kind: 'pending', receipted: delivered.length, total };
  return { kind: 'delivered', dlrDate: latest(delivered.map(([, r]) => r.dlrDate)) };
}

/** `YYMMDDhhmm` strings of one century sort as they read. */
function latest(dates: readonly (string | null)[]): string | null {
  let max: string | null = null;
  for (const date of dates) if (date !== null && (max === null || date > max)) max = date;
  return max;
}

export function noRouteFailure(sender: string): ChannelFailure {
  return { code: deliveryErrors.channelUnavailable.code, reason: `No SMPP connector is routed for sender ${sender}` };
}

export function connectorDisabledFailure(sender: string, connectorId: string): ChannelFailure {
  return { code: deliveryErrors.channelUnavailable.code, reason: `The SMPP connector ${connectorId} routed for sender ${sender} is disabled or removed` };
}

export function submitRejectedFailure(error: SmppSubmitRejectedError): ChannelFailure {
  return { code: deliveryErrors.carrierRejected.code, reason: `SMSC rejected submit_sm: ${error.statusName}` };
}

export function validityElapsedFailure(): ChannelFailure {
  return { code: deliveryErrors.validityExpired.code, reason: 'Validity period elapsed before the message could be submitted to the SMSC' };
}

export function bindLostFailure(attempts: number): ChannelFailure {
  return {
    code: deliveryErrors.channelUnavailable.code,
    reason: `The SMPP bind dropped before the SMSC answered submit_sm, ${attempts} times; not trying again`,
  };
}

/** The grain of the MO key when the SMSC gives no reference of its own. */
const MO_KEY_WINDOW_MS = 60_000;

/**
 * The idempotency key of an MO (`ChannelInboundSms.key`). SMPP 3.4 gives an MO no id; the SMSC
 * re-sends it only when our deliver_sm_resp did not reach it (we answer after recording), so
 * the key must make the re-sent copy equal and tell a real repeat apart:
 * connector, addresses, text, the concatenation reference and the SMSC's user_message_reference
 * (the handset's TP-MR, which changes per SMS) when present; without it, the minute the message
 * arrived stands in — the same text from the same handset twice within that minute is recorded
 * once, a re-send in a later minute twice (at least once).
 */
export function moKey(connectorId: string, mo: SmppMoMessage): string {
  const when = mo.userMessageReference === null ? Math.floor(mo.receivedAt / MO_KEY_WINDOW_MS) : null;
  const material = JSON.stringify([
    'smpp-mo-v1',
    connectorId,
    mo.source,
    mo.destination,
    mo.concatenation ? [mo.concatenation.reference, mo.concatenation.total] : null,
    mo.userMessageReference,
    when,
    mo.text,
  ]);
  return `${connectorId}:${createHash('sha256').update(material).digest('hex').slice(0, 32)}`;
}
