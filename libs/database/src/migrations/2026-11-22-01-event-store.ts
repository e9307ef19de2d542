import { Kysely, sql } from 'kysely';

/**
 * Append-only event log. `transaction_id` lets tailers read only below the oldest transaction
 * still in flight, so a later-committing transaction can never slip in behind a read position.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table events (
      global_position bigint generated always as identity primary key,
      transaction_id xid8 not null default pg_current_xact_id(),
      stream_id text not null,
      revision bigint not null,
      event_id uuid not null,
      type text not null,
      data jsonb not null,
      metadata jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default now(),
      constraint events_stream_revision_unique unique (stream_id, revision),
      constraint events_event_id_unique unique (event_id)
    )`.execute(db);
  await sql`create index events_log_order on events (transaction_id, global_position)`.execute(db);
  await sql`
    create table checkpoints (
      name text primary key,
      position text not null,
      updated_at timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('checkpoints').execute();
  await db.schema.dropTable('events').execute();
}
