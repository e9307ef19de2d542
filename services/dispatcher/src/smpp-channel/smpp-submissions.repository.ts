import type { Db } from '@reach/database';
import type { PartReceipt, SubmittedPart } from './smpp-outcomes';

/**
 * `smpp_submissions`: each part's carrier message id → our message. Written once every part of
 * a message has its submit_sm_resp (and before `sent` is reported), so a receipt that arrives
 * after a restart, or on another replica, still finds its message.
 */

export interface SubmissionRow {
  readonly connectorId: string;
  readonly carrierMessageId: string;
  readonly messageId: string;
  readonly partIndex: number;
  readonly partCount: number;
}

/** Idempotent: a part recorded before keeps its row (and its outcome). */
export async function insertSubmissions(db: Db, rows: readonly SubmissionRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('smpp_submissions')
    .values(
      rows.map((r) => ({
        connector_id: r.connectorId,
        carrier_message_id: r.carrierMessageId,
        message_id: r.messageId,
        part_index: r.partIndex,
        part_count: r.partCount,
      })),
    )
    .onConflict((oc) => oc.columns(['connector_id', 'carrier_message_id']).doNothing())
    .execute();
}

export async function findSubmission(db: Db, connectorId: string, carrierMessageId: string): Promise<SubmissionRow | null> {
  const row = await db
    .selectFrom('smpp_submissions')
    .select(['connector_id', 'carrier_message_id', 'message_id', 'part_index', 'part_count'])
    .where('connector_id', '=', connectorId)
    .where('carrier_message_id', '=', carrierMessageId)
    .executeTakeFirst();
  return row ? toSubmissionRow(row) : null;
}

/** Every recorded part of the message, in part order, with its outcome when its receipt came. */
export async function partsOfMessage(db: Db, messageId: string): Promise<SubmittedPart[]> {
  const rows = await db
    .selectFrom('smpp_submissions')
    .select(['connector_id', 'carrier_message_id', 'message_id', 'part_index', 'part_count', 'outcome', 'stat', 'err', 'dlr_date'])
    .where('message_id', '=', messageId)
    .orderBy('part_index')
    .orderBy('submitted_at')
    .execute();
  return rows.map((r) => ({
    ...toSubmissionRow(r),
    receipt: r.outcome === null ? null : { outcome: r.outcome, stat: r.stat ?? '', err: r.err, dlrDate: r.dlr_date },
  }));
}

/**
 * Records a part's final receipt once: a repeated receipt (the SMSC re-sent it because our
 * answer was lost) leaves the first one in place. True when this call recorded it.
 */
export async function recordPartReceipt(db: Db, connectorId: string, carrierMessageId: string, receipt: PartReceipt, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('smpp_submissions')
    .set({ outcome: receipt.outcome, stat: receipt.stat, err: receipt.err, dlr_date: receipt.dlrDate, receipted_at: now })
    .where('connector_id', '=', connectorId)
    .where('carrier_message_id', '=', carrierMessageId)
    .where('outcome', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

function toSubmissionRow(r: { connector_id: string; carrier_message_id: string; message_id: string; part_index: number; part_count: number }): SubmissionRow {
  return { connectorId: r.connector_id, carrierMessageId: r.carrier_message_id, messageId: r.message_id, partIndex: r.part_index, partCount: r.part_count };
}
