import { Kysely, sql } from 'kysely';

/**
 * The gateway's Idempotency-Key records: one row per (account, key), written `in_progress` before
 * the send and `completed` with the answer after it, so a retried request gets the original answer
 * instead of a second message. Keys live 24 hours; the gateway deletes expired rows lazily (by
 * `created_at`, hence the index). Rows come and go like a queue, so autovacuum runs more often.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table idempotency_keys (
      account_id uuid not null,
      key text not null,
      request_hash text not null,
      status text not null check (status in ('in_progress', 'completed')),
      response_status integer,
      response_body jsonb,
      created_at timestamptz not null default now(),
      completed_at timestamptz,
      primary key (account_id, key)
    ) with (autovacuum_vacuum_scale_factor = 0.05)`.execute(db);
  await sql`create index idempotency_keys_created_at on idempotency_keys (created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
}
