import { sql } from 'kysely';
import type { Db } from '@reach/database';
import type { PartReceipt, SubmittedPart } from './smpp-outcomes';

/**
 * `smpp_submissions`: each part's carrier message id → our message. Written once every part of
 * a message has its submit_sm_resp (and before `sent` is reported), so a receipt that arrives
 * after a restart, or on another replica, still finds its message.
 *
 * Every function takes many calls' worth at once (the channel batches concurrent calls into one
 * statement) and answers per call, in call order. Postgres hands uuids back in lower case, so
 * ids are matched case-insensitively.
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

/** Per message id: every recorded part, in part order, with its outcome when its receipt came. */
export async function partsOfMessages(db: Db, messageIds: readonly string[]): Promise<SubmittedPart[][]> {
  const unique = [...new Set(messageIds.map((id) => id.toLowerCase()))];
  const rows = await db
    .selectFrom('smpp_submissions')
    .select(['connector_id', 'carrier_message_id', 'message_id', 'part_index', 'part_count', 'outcome', 'stat', 'err', 'dlr_date'])
    .where(sql<boolean>`message_id = any(${unique}::uuid[])`)
    .orderBy('part_index')
    .orderBy('submitted_at')
    .execute();
  const byMessage = new Map<string, SubmittedPart[]>();
  for (const row of rows) {
    const id = row.message_id.toLowerCase();
    const parts = byMessage.get(id) ?? [];
    parts.push(toSubmittedPart(row));
    byMessage.set(id, parts);
  }
  return messageIds.map((id) => byMessage.get(id.toLowerCase()) ?? []);
}

export interface ReceiptToRecord {
  readonly connectorId: string;
  readonly carrierMessageId: string;
  readonly receipt: PartReceipt;
}

/**
 * What recording a receipt found: its part (with the receipt that counts: this one when fresh,
 * the first one recorded otherwise); `fresh` when this call recorded it; `alone` when the part is
 * its message's only row, so the message's outcome is this receipt's (no read-back needed).
 */
export interface RecordedReceipt {
  readonly part: SubmittedPart;
  readonly fresh: boolean;
  readonly alone: boolean;
}

interface RecordedRow {
  connector_id: string;
  carrier_message_id: string;
  message_id: string;
  part_index: number;
  part_count: number;
  rows_of_message: number;
}

/**
 * Records parts' final receipts, each once, in one round trip: a repeated receipt (the SMSC
 * re-sent it because our answer was lost) leaves the first one in place. Per receipt: what was
 * recorded, or null when no row has its carrier id (yet). The receipts whose row was not updated
 * are looked up in a second statement, only when there are some, to tell a repeat from an
 * unknown carrier id.
 */
export async function recordPartReceipts(db: Db, receipts: readonly ReceiptToRecord[], now: Date): Promise<(RecordedReceipt | null)[]> {
  // A carrier id twice in one statement would update its row once, with either receipt: the
  // first goes in, the others find it recorded.
  const firstOf = new Map<string, number>();
  receipts.forEach((r, i) => {
    const k = rowKey(r.connectorId, r.carrierMessageId);
    if (!firstOf.has(k)) firstOf.set(k, i);
  });
  const toUpdate = [...firstOf.values()].map((i) => receipts[i] as ReceiptToRecord);
  const { rows: updated } = await sql<RecordedRow>`
    update smpp_submissions s
    set outcome = v.outcome, stat = v.stat, err = v.err, dlr_date = v.dlr_date, receipted_at = ${now}::timestamptz
    from unnest(
      ${toUpdate.map((r) => r.connectorId)}::uuid[], ${toUpdate.map((r) => r.carrierMessageId)}::text[],
      ${toUpdate.map((r) => r.receipt.outcome)}::text[], ${toUpdate.map((r) => r.receipt.stat)}::text[],
      ${toUpdate.map((r) => r.receipt.err)}::text[], ${toUpdate.map((r) => r.receipt.dlrDate)}::text[]
    ) as v(connector_id, carrier_message_id, outcome, stat, err, dlr_date)
    where s.connector_id = v.connector_id and s.carrier_message_id = v.carrier_message_id and s.outcome is null
    returning s.connector_id, s.carrier_message_id, s.message_id, s.part_index, s.part_count,
      (select count(*)::int from smpp_submissions o where o.message_id = s.message_id) as rows_of_message`.execute(db);
  const fresh = new Map(updated.map((row) => [rowKey(row.connector_id, row.carrier_message_id), row]));

  const results = receipts.map((r, i): RecordedReceipt | null => {
    const k = rowKey(r.connectorId, r.carrierMessageId);
    const row = firstOf.get(k) === i ? fresh.get(k) : undefined;
    return row ? { part: { ...toSubmissionRow(row), receipt: r.receipt }, fresh: true, alone: row.rows_of_message === 1 } : null;
  });
  const misses = receipts.filter((_, i) => results[i] === null);
  if (misses.length === 0) return results;

  const recorded = await db
    .selectFrom('smpp_submissions')
    .select(['connector_id', 'carrier_message_id', 'message_id', 'part_index', 'part_count', 'outcome', 'stat', 'err', 'dlr_date'])
    .where(
      sql<boolean>`(connector_id, carrier_message_id) in (select * from unnest(${misses.map((r) => r.connectorId)}::uuid[], ${misses.map((r) => r.carrierMessageId)}::text[]))`,
    )
    .where('outcome', 'is not', null)
    .execute();
  const before = new Map(recorded.map((row) => [rowKey(row.connector_id, row.carrier_message_id), toSubmittedPart(row)]));
  return results.map((result, i) => {
    if (result) return result;
    const r = receipts[i] as ReceiptToRecord;
    const part = before.get(rowKey(r.connectorId, r.carrierMessageId));
    return part ? { part, fresh: false, alone: false } : null;
  });
}

/**
 * A SQLSTATE of class 22 (data exception) or 23 (integrity constraint violation): the rows of
 * the statement, not the database, are at fault.
 */
export function isRowError(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

const rowKey = (connectorId: string, carrierMessageId: string): string => `${connectorId.toLowerCase()}\u0000${carrierMessageId}`;

function toSubmissionRow(r: { connector_id: string; carrier_message_id: string; message_id: string; part_index: number; part_count: number }): SubmissionRow {
  return { connectorId: r.connector_id, carrierMessageId: r.carrier_message_id, messageId: r.message_id, partIndex: r.part_index, partCount: r.part_count };
}

function toSubmittedPart(
  r: Parameters<typeof toSubmissionRow>[0] & { outcome: PartReceipt['outcome'] | null; stat: string | null; err: string | null; dlr_date: string | null },
): SubmittedPart {
  return { ...toSubmissionRow(r), receipt: r.outcome === null ? null : { outcome: r.outcome, stat: r.stat ?? '', err: r.err, dlrDate: r.dlr_date } };
}
