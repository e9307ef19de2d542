import { Kysely, sql } from 'kysely';

/**
 * Outbound notifications: ReachCell account webhooks, and the durable outbox of every delivery
 * (Reach status callbacks and webhook calls) with one row per attempt.
 *
 * A webhook keeps only `signing_key` = SHA-256(secret), which is exactly the HMAC key of
 * `X-ReachCell-Signature`; the secret itself is shown once and never stored.
 *
 * A delivery's id is derived from (source event, target), so planning it twice (at-least-once
 * consumers) inserts nothing new. `ordering_key` + `sequence` serialise the deliveries of one
 * message to one target: a later one waits while an earlier one is pending or in flight.
 * `endpoint_key` names the concurrency lane (a webhook, or a callback URL's origin).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table webhooks (
      id uuid primary key,
      account_id uuid not null references accounts (id),
      url text not null,
      label text not null,
      events text[] not null,
      signing_key bytea not null,
      secret_prefix text not null,
      status text not null default 'active' check (status in ('active', 'disabled')),
      disabled_reason text,
      created_at timestamptz not null default now(),
      disabled_at timestamptz,
      deleted_at timestamptz
    )`.execute(db);
  await sql`create index webhooks_account on webhooks (account_id, created_at) where deleted_at is null`.execute(db);

  await sql`
    create table deliveries (
      id uuid primary key,
      account_id uuid not null,
      kind text not null check (kind in ('status_callback', 'webhook')),
      webhook_id uuid references webhooks (id),
      message_id uuid,
      event_id text not null,
      event_type text not null,
      url text not null,
      endpoint_key text not null,
      ordering_key text not null,
      sequence bigint not null default 0,
      content_type text not null,
      payload text not null,
      state text not null check (state in ('pending', 'in_flight', 'succeeded', 'failed', 'canceled')),
      attempts integer not null default 0,
      next_attempt_at timestamptz,
      lease_expires_at timestamptz,
      last_status_code integer,
      last_error text,
      created_at timestamptz not null default now(),
      completed_at timestamptz
    ) with (autovacuum_vacuum_scale_factor = 0.05)`.execute(db);
  await sql`create index deliveries_due on deliveries (next_attempt_at) where state = 'pending'`.execute(db);
  await sql`create index deliveries_leased on deliveries (lease_expires_at) where state = 'in_flight'`.execute(db);
  await sql`create index deliveries_open_by_order on deliveries (ordering_key, sequence) where state in ('pending', 'in_flight')`.execute(db);
  await sql`create index deliveries_by_message on deliveries (account_id, message_id, created_at)`.execute(db);
  await sql`create index deliveries_by_webhook on deliveries (webhook_id, created_at) where webhook_id is not null`.execute(db);

  await sql`
    create table delivery_attempts (
      delivery_id uuid not null references deliveries (id) on delete cascade,
      attempt integer not null,
      started_at timestamptz not null,
      latency_ms integer,
      status_code integer,
      outcome text not null check (outcome in ('succeeded', 'retry', 'failed', 'endpoint_gone')),
      error text,
      response_excerpt text,
      primary key (delivery_id, attempt)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('delivery_attempts').execute();
  await db.schema.dropTable('deliveries').execute();
  await db.schema.dropTable('webhooks').execute();
}
