import { sql, type Transaction } from 'kysely';
import type { Database } from '@reach/database';
import type { RecordedEvent } from '@reach/event-store';
import { overageCost } from '@reach/message-domain';
import { asMessageEvent } from './recorded-message-event';
import { evolveMessageView, messageRowToView, messageViewToRow, type MessageView } from './message-view';
import { messageTimings, type MessageTiming } from './message-timings';

export const MESSAGES_PROJECTION = 'messages-projection';

/** The `messages.status` of a deleted message's tombstone row (not a lifecycle status: queries skip it). */
export const DELETED_STATUS = 'deleted';

/** What one batch changed: rows written, and the lifecycle timings of the events it applied. */
export interface MessagesProjected {
  readonly applied: number;
  /**
   * Only events applied for the first time yield timings (those at or below a row's revision are
   * skipped), so a replay reports nothing twice. Observe them after the batch commits.
   */
  readonly timings: readonly MessageTiming[];
}

/**
 * Folds a batch of log events into `messages` and `usage_monthly`. Runs inside the transaction
 * that also stores the checkpoint, and skips every event at or below a row's stream revision,
 * so replaying any part of the log changes nothing (at-least-once delivery is harmless).
 * Billing happens on MessageSent: the month's segments grow and `cost_usd` is the overage.
 */
export async function projectMessages(trx: Transaction<Database>, batch: readonly RecordedEvent[]): Promise<MessagesProjected> {
  const events = batch.map(asMessageEvent).filter((e) => e !== null);
  if (events.length === 0) return { applied: 0, timings: [] };

  const ids = [...new Set(events.map((e) => e.messageId))];
  const existing = await trx.selectFrom('messages').selectAll().where('message_id', 'in', ids).forUpdate().execute();
  const views = new Map<string, MessageView>(existing.map((row) => [row.message_id, messageRowToView(row)]));
  const usage = new Map<string, { accountId: string; month: string; segments: bigint }>();
  const changed = new Set<string>();
  /** Deleted messages keep a tombstone row (status `deleted`, no body) so replays stay harmless. */
  const deleted = new Map<string, MessageView>();
  const timings: MessageTiming[] = [];

  for (const { event, messageId, revision } of events) {
    if (deleted.has(messageId)) continue;
    const before = views.get(messageId) ?? null;
    if (before !== null && revision <= before.streamRevision) continue;
    let after = evolveMessageView(before, event, revision);
    if (after === null) {
      // A view that existed and folds to nothing was deleted (MessageDeleted): its row becomes a
      // tombstone at this revision, which queries never return and replays never revive.
      if (before !== null) {
        changed.delete(messageId);
        deleted.set(messageId, { ...before, body: null, bodyRedacted: true, streamRevision: revision });
      }
      continue;
    }
    if (event.type === 'MessageSent' && after.billing !== null) {
      const month = event.data.sentAt.slice(0, 7);
      const key = `${after.accountId}:${month}`;
      let used = usage.get(key);
      if (!used) {
        const row = await trx
          .selectFrom('usage_monthly')
          .select('segments')
          .where('account_id', '=', after.accountId)
          .where('month', '=', month)
          .forUpdate()
          .executeTakeFirst();
        used = { accountId: after.accountId, month, segments: BigInt(row?.segments ?? 0) };
        usage.set(key, used);
      }
      const cost = overageCost(after.billing, Number(used.segments), after.segmentCount);
      used.segments += BigInt(after.segmentCount);
      after = { ...after, costUsd: cost };
    }
    views.set(messageId, after);
    changed.add(messageId);
    timings.push(...messageTimings(before, event));
  }

  if (changed.size + deleted.size > 0) {
    const rows = [
      ...[...changed].map((id) => ({ ...messageViewToRow(views.get(id)!), projected_at: sql<Date>`clock_timestamp()` })),
      ...[...deleted.values()].map((v) => ({ ...messageViewToRow(v), status: DELETED_STATUS, projected_at: sql<Date>`clock_timestamp()` })),
    ];
    await trx
      .insertInto('messages')
      .values(rows)
      .onConflict((oc) =>
        oc.column('message_id').doUpdateSet((eb) => {
          const columns = Object.keys(rows[0]!).filter((c) => c !== 'message_id') as (keyof (typeof rows)[number])[];
          return Object.fromEntries(columns.map((c) => [c, eb.ref(`excluded.${c}`)])) as never;
        }),
      )
      .execute();
  }
  if (usage.size > 0) {
    await trx
      .insertInto('usage_monthly')
      .values([...usage.values()].map((u) => ({ account_id: u.accountId, month: u.month, segments: u.segments })))
      .onConflict((oc) => oc.columns(['account_id', 'month']).doUpdateSet({ segments: sql`excluded.segments` }))
      .execute();
  }
  return { applied: changed.size + deleted.size, timings };
}
