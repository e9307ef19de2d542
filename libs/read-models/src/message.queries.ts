import { sql, type Kysely } from 'kysely';
import type { Database } from '@reach/database';
import type { MessageStatus } from '@reach/contracts';
import { messageRowToView, type MessageView } from './message-view';
import { DELETED_STATUS } from './messages.projection';

/** Queries skip the domain and read the projection directly; every one is scoped to an account. */
export async function findMessage(db: Kysely<Database>, accountId: string, messageId: string): Promise<MessageView | null> {
  const row = await db
    .selectFrom('messages')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('message_id', '=', messageId)
    .where('status', '<>', DELETED_STATUS)
    .executeTakeFirst();
  return row ? messageRowToView(row) : null;
}

export interface MessageListFilter {
  readonly accountId: string;
  /** Matches either end of the message. */
  readonly number?: string;
  readonly from?: string;
  readonly to?: string;
  readonly direction?: 'inbound' | 'outbound';
  readonly statuses?: readonly MessageStatus[];
  readonly bulkId?: string;
  /** Inclusive lower bound on creation time. */
  readonly createdFrom?: Date;
  /** Exclusive upper bound on creation time. */
  readonly createdBefore?: Date;
  /** Inclusive lower bound on the time the carrier took the message (unsent messages never match). */
  readonly sentFrom?: Date;
  /** Exclusive lower bound on the time the carrier took the message (unsent messages never match). */
  readonly sentAfter?: Date;
  /** Exclusive upper bound on the time the carrier took the message (unsent messages never match). */
  readonly sentBefore?: Date;
}

export interface MessagePage {
  readonly items: MessageView[];
  readonly total: number;
}

/** Newest first (ties broken by id, so paging is stable). */
export async function listMessages(
  db: Kysely<Database>,
  filter: MessageListFilter,
  page: { offset: number; limit: number },
): Promise<MessagePage> {
  let query = db.selectFrom('messages').where('account_id', '=', filter.accountId).where('status', '<>', DELETED_STATUS);
  if (filter.number !== undefined) {
    const n = filter.number;
    query = query.where((eb) => eb.or([eb('from_number', '=', n), eb('to_number', '=', n)]));
  }
  if (filter.from !== undefined) query = query.where('from_number', '=', filter.from);
  if (filter.to !== undefined) query = query.where('to_number', '=', filter.to);
  if (filter.direction !== undefined) query = query.where('direction', '=', filter.direction);
  if (filter.statuses !== undefined) query = query.where('status', 'in', filter.statuses.length ? [...filter.statuses] : ['']);
  if (filter.bulkId !== undefined) query = query.where('bulk_id', '=', filter.bulkId);
  if (filter.createdFrom !== undefined) query = query.where('created_at', '>=', filter.createdFrom);
  if (filter.createdBefore !== undefined) query = query.where('created_at', '<', filter.createdBefore);
  if (filter.sentFrom !== undefined) query = query.where('sent_at', '>=', filter.sentFrom);
  if (filter.sentAfter !== undefined) query = query.where('sent_at', '>', filter.sentAfter);
  if (filter.sentBefore !== undefined) query = query.where('sent_at', '<', filter.sentBefore);

  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('message_id', 'desc').offset(page.offset).limit(page.limit).execute(),
    query.select(sql<string>`count(*)`.as('total')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(messageRowToView), total: Number(count.total) };
}

/**
 * Outbound messages a channel took but has not finished (dispatched or sent), last changed
 * before `changedBefore`: what a dispatcher resumes after a crash or a lease change.
 */
export async function findUnfinishedMessages(
  db: Kysely<Database>,
  filter: { channels: readonly string[]; changedBefore: Date; limit: number },
): Promise<Array<{ messageId: string; from: string }>> {
  if (filter.channels.length === 0) return [];
  const rows = await db
    .selectFrom('messages')
    .select(['message_id', 'from_number'])
    .where('direction', '=', 'outbound')
    .where('channel', 'in', [...filter.channels])
    .where('status', 'in', ['dispatched', 'sent'])
    .where('updated_at', '<', filter.changedBefore)
    .orderBy('updated_at')
    .limit(filter.limit)
    .execute();
  return rows.map((r) => ({ messageId: r.message_id, from: r.from_number }));
}
