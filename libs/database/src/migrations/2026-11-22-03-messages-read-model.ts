import { Kysely, sql } from 'kysely';

/** Read models folded from the event log by the projector; queries read only these. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table messages (
      message_id uuid primary key,
      account_id uuid not null,
      direction text not null check (direction in ('outbound', 'inbound')),
      from_number text not null,
      to_number text not null,
      body text,
      segment_count integer not null,
      encoding text not null,
      status text not null,
      channel text not null,
      dialect text,
      bulk_id text,
      status_callback text,
      max_price numeric(12, 6),
      validity_period_seconds integer,
      expires_at timestamptz,
      scheduled_for timestamptz,
      error_code integer,
      failure_reason text,
      provider_message_id text,
      cost_usd numeric(12, 6),
      price numeric(12, 6),
      price_unit text,
      billing_allowance_segments integer,
      billing_overage_price_usd numeric(12, 6),
      body_redacted boolean not null default false,
      created_at timestamptz not null,
      queued_at timestamptz,
      dispatched_at timestamptz,
      sent_at timestamptz,
      delivered_at timestamptz,
      updated_at timestamptz not null,
      stream_revision bigint not null,
      -- When this version of the row was written: read-model lag = projected_at - updated_at.
      projected_at timestamptz not null default clock_timestamp()
    )`.execute(db);
  await sql`create index messages_account_newest on messages (account_id, created_at desc, message_id desc)`.execute(db);
  await sql`create index messages_account_from on messages (account_id, from_number)`.execute(db);
  await sql`create index messages_account_to on messages (account_id, to_number)`.execute(db);
  await sql`create index messages_unfinished on messages (channel, updated_at) where status in ('dispatched', 'sent')`.execute(db);
  await sql`
    create table usage_monthly (
      account_id uuid not null,
      month text not null,
      segments bigint not null default 0,
      primary key (account_id, month)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('usage_monthly').execute();
  await db.schema.dropTable('messages').execute();
}
