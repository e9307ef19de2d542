import { Kysely, sql } from 'kysely';

/**
 * The dispatcher's durable work list: one row per released outbound message, kept until the
 * message reaches a terminal status, so a restart resumes every message that was in flight.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table dispatch_queue (
      seq bigint generated always as identity primary key,
      message_id uuid not null unique,
      account_id uuid not null,
      from_number text not null,
      to_number text not null,
      body text not null,
      segment_count integer not null,
      queued_at timestamptz not null,
      expires_at timestamptz not null
    )`.execute(db);
  await sql`create index dispatch_queue_sender on dispatch_queue (from_number, seq)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('dispatch_queue').execute();
}
