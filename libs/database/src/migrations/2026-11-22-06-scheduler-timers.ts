import { Kysely, sql } from 'kysely';

/**
 * The scheduler's durable timers: one row per pending release (`scheduledFor`) or validity expiry
 * (`expiresAt`) of a message, keyed by (message, kind) so recording a timer twice is a no-op. A
 * row is deleted in the same transaction that fires it, after its command succeeded. The table
 * behaves like a queue (rows come and go), so autovacuum is told to clean it far more often than
 * the 20 % default: dead rows at the head of the due_at index slow the "what is due" scan.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table scheduler_timers (
      message_id uuid not null,
      kind text not null check (kind in ('release', 'expire')),
      due_at timestamptz not null,
      account_id uuid not null,
      attempts integer not null default 0,
      primary key (message_id, kind)
    ) with (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000)`.execute(db);
  await sql`create index scheduler_timers_due on scheduler_timers (due_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('scheduler_timers').execute();
}
