import { sql } from 'kysely';
import type { ChannelKind } from '@reach/contracts';
import type { Db, DispatchQueueRow } from '@reach/database';

/** The dispatcher's durable list of released messages not yet finished. */
export interface QueuedMessage {
  readonly messageId: string;
  readonly accountId: string;
  /** The channel it goes out on (chosen at accept time from its sender). */
  readonly channel: ChannelKind;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly segmentCount: number;
  readonly queuedAt: Date;
  readonly expiresAt: Date;
  /** `traceparent` of the span the message was queued in: its backlog send continues that trace. */
  readonly traceParent?: string | null;
  /** Correlation id of the request the message came from, for the backlog send's events and log lines. */
  readonly correlationId?: string | null;
}

/** Idempotent: a redelivered MessageQueued finds its row already there. */
export async function enqueue(db: Db, m: QueuedMessage): Promise<void> {
  await db
    .insertInto('dispatch_queue')
    .values({
      message_id: m.messageId,
      account_id: m.accountId,
      channel: m.channel,
      from_number: m.from,
      to_number: m.to,
      body: m.body,
      segment_count: m.segmentCount,
      queued_at: m.queuedAt,
      expires_at: m.expiresAt,
      trace_parent: m.traceParent ?? null,
      correlation_id: m.correlationId ?? null,
    })
    .onConflict((oc) => oc.column('message_id').doNothing())
    .execute();
}

/** The sender's waiting messages in release order, leaving out those already handed to its phone. */
export async function nextForSender(db: Db, from: string, exclude: readonly string[], limit: number): Promise<QueuedMessage[]> {
  let query = db.selectFrom('dispatch_queue').selectAll().where('from_number', '=', from);
  if (exclude.length > 0) query = query.where(sql<boolean>`message_id <> all(${sql.val(exclude)}::uuid[])`);
  const rows = await query.orderBy('queued_at').orderBy('seq').limit(limit).execute();
  return rows.map(toQueuedMessage);
}

export async function sendersWithWork(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('dispatch_queue').select('from_number').distinct().execute();
  return rows.map((r) => r.from_number);
}

export async function removeFromQueue(db: Db, messageId: string): Promise<void> {
  await db.deleteFrom('dispatch_queue').where('message_id', '=', messageId).execute();
}

function toQueuedMessage(r: DispatchQueueRow): QueuedMessage {
  return {
    messageId: r.message_id,
    accountId: r.account_id,
    channel: r.channel,
    from: r.from_number,
    to: r.to_number,
    body: r.body,
    segmentCount: r.segment_count,
    queuedAt: r.queued_at,
    expiresAt: r.expires_at,
    traceParent: r.trace_parent,
    correlationId: r.correlation_id,
  };
}
