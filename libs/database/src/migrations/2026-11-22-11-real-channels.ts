import { Kysely, sql } from 'kysely';

/**
 * Real channels (issue 5): Android-style devices and SMPP carrier connectors.
 *
 * - `devices`: a device authenticates with a token shown once; only SHA-256(token) is stored.
 *   `sends_per_minute` is the device's pacing (Android's own limit is 30 per 60 s).
 * - `numbers.device_id` / `sim_slot`: the number is held by that device's SIM (`reachctl device bind`).
 * - `smpp_connectors`: carrier binds, for one account or (account_id null) platform-wide. The bind
 *   password is needed in clear to bind, so it is stored sealed (AES-256-GCM under a key derived
 *   from the platform secret), never as plain text.
 * - `numbers.connector_id` / `senders.connector_id`: the sender is routed to that connector.
 * - `smpp_submissions`: each part's carrier message id → our message, so receipts that arrive
 *   after a restart still find their message; a message is delivered when all parts are.
 * - `dispatch_queue.channel`: the channel a waiting message goes out on.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table devices (
      id uuid primary key,
      account_id uuid not null references accounts (id),
      name text not null default '',
      token_hash bytea not null unique,
      sends_per_minute integer not null default 30 check (sends_per_minute between 1 and 10000),
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    )`.execute(db);
  await sql`create index devices_account on devices (account_id)`.execute(db);
  await sql`
    alter table numbers
      add column device_id uuid references devices (id),
      add column sim_slot smallint check (sim_slot between 0 and 7)`.execute(db);
  await sql`create index numbers_device on numbers (device_id) where device_id is not null`.execute(db);

  await sql`
    create table smpp_connectors (
      id uuid primary key,
      account_id uuid references accounts (id),
      name text not null,
      host text not null,
      port integer not null check (port between 1 and 65535),
      system_id text not null check (length(system_id) between 1 and 15),
      password_sealed bytea not null,
      system_type text not null default '' check (length(system_type) <= 12),
      bind_mode text not null default 'transceiver' check (bind_mode in ('transceiver')),
      source_ton smallint not null default 1 check (source_ton between 0 and 6),
      source_npi smallint not null default 1 check (source_npi between 0 and 18),
      dest_ton smallint not null default 1 check (dest_ton between 0 and 6),
      dest_npi smallint not null default 1 check (dest_npi between 0 and 18),
      throughput_per_second integer not null default 100 check (throughput_per_second between 1 and 100000),
      window_size integer not null default 100 check (window_size between 1 and 10000),
      created_at timestamptz not null default now(),
      disabled_at timestamptz
    )`.execute(db);
  await sql`
    create unique index smpp_connectors_name
      on smpp_connectors (coalesce(account_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name))`.execute(db);
  await sql`alter table numbers add column connector_id uuid references smpp_connectors (id)`.execute(db);
  await sql`alter table senders add column connector_id uuid references smpp_connectors (id)`.execute(db);

  await sql`
    create table smpp_submissions (
      connector_id uuid not null references smpp_connectors (id),
      carrier_message_id text not null,
      message_id uuid not null,
      part_index smallint not null check (part_index >= 1),
      part_count smallint not null check (part_count >= 1 and part_index <= part_count),
      outcome text check (outcome in ('delivered', 'undelivered')),
      stat text,
      err text,
      dlr_date text,
      submitted_at timestamptz not null default now(),
      receipted_at timestamptz,
      primary key (connector_id, carrier_message_id)
    )`.execute(db);
  await sql`create index smpp_submissions_message on smpp_submissions (message_id)`.execute(db);

  await sql`
    alter table dispatch_queue
      add column channel text not null default 'simulated' check (channel in ('simulated', 'device', 'smpp'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table dispatch_queue drop column channel`.execute(db);
  await db.schema.dropTable('smpp_submissions').execute();
  await sql`alter table senders drop column connector_id`.execute(db);
  await sql`alter table numbers drop column connector_id, drop column device_id, drop column sim_slot`.execute(db);
  await db.schema.dropTable('smpp_connectors').execute();
  await db.schema.dropTable('devices').execute();
}
