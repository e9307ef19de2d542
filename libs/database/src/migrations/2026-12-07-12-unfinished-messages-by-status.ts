import { Kysely, sql } from 'kysely';

/**
 * The dispatcher's resume sweep asks for `dispatched` messages of every channel but for `sent`
 * ones only of channels that make their receipts themselves, and pages by (updated_at,
 * message_id). Messages that stay `sent` for good (no receipt ever comes from many networks)
 * must not be scanned on the way to the dispatched ones, so status leads the index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists messages_unfinished`.execute(db);
  await sql`
    create index messages_unfinished on messages (status, channel, updated_at, message_id)
    where status in ('dispatched', 'sent') and direction = 'outbound'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists messages_unfinished`.execute(db);
  await sql`create index messages_unfinished on messages (channel, updated_at) where status in ('dispatched', 'sent')`.execute(db);
}
