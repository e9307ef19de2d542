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

/** Where a page of unfinished messages ended: the last row's `updated_at` (exact, as Postgres text) and id. */
export interface UnfinishedCursor {
  readonly updatedAt: string;
  readonly messageId: string;
}

export interface UnfinishedMessage {
  readonly messageId: string;
  readonly from: string;
  readonly cursor: UnfinishedCursor;
}

/**
 * Outbound messages a channel took but has not finished, last changed before `changedBefore`:
 * what a dispatcher resumes after a crash or a lease change. `dispatched` ones of
 * `dispatchedChannels`, `sent` ones of `sentChannels` (channels that make their receipts
 * themselves). Oldest first, keyset-paged from `after`, so a page full of messages the caller
 * already holds never hides the ones behind it.
 */
export async function findUnfinishedMessages(
  db: Kysely<Database>,
  filter: {
    readonly dispatchedChannels: readonly string[];
    readonly sentChannels: readonly string[];
    readonly changedBefore: Date;
    readonly after?: UnfinishedCursor;
    readonly limit: number;
  },
): Promise<UnfinishedMessage[]> {
  const wanted = [
    ...filter.dispatchedChannels.map((channel) => ({ status: 'dispatched', channel })),
    ...filter.sentChannels.map((channel) => ({ status: 'sent', channel })),
  ];
  if (wanted.length === 0) return [];
  let query = db
    .selectFrom('messages')
    .select(['message_id', 'from_number', sql<string>`updated_at::text`.as('updated_at_text')])
    .where('direction', '=', 'outbound')
    .where('status', 'in', ['dispatched', 'sent'])
    .where((eb) => eb.or(wanted.map((w) => eb.and([eb('status', '=', w.status), eb('channel', '=', w.channel)]))))
    .where('updated_at', '<', filter.changedBefore);
  const after = filter.after;
  if (after) query = query.where(sql<boolean>`(updated_at, message_id) > (${after.updatedAt}::timestamptz, ${after.messageId}::uuid)`);
  const rows = await query.orderBy('updated_at').orderBy('message_id').limit(filter.limit).execute();
  return rows.map((r) => ({ messageId: r.message_id, from: r.from_number, cursor: { updatedAt: r.updated_at_text, messageId: r.message_id } }));
}
