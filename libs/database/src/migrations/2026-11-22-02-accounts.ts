import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table accounts (
      id uuid primary key,
      name text not null,
      api_user text not null unique,
      status text not null default 'active' check (status in ('active', 'suspended')),
      monthly_allowance_segments integer not null check (monthly_allowance_segments >= 0),
      overage_price_per_segment_usd numeric(12, 6) not null check (overage_price_per_segment_usd >= 0),
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    create table api_keys (
      id uuid primary key,
      account_id uuid not null references accounts (id),
      key_hash bytea not null unique,
      key_prefix text not null,
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    )`.execute(db);
  await sql`create index api_keys_account on api_keys (account_id)`.execute(db);
  await sql`
    create table numbers (
      e164 text primary key,
      account_id uuid not null references accounts (id),
      channel text not null default 'simulated' check (channel in ('simulated', 'device', 'smpp')),
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index numbers_account on numbers (account_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('numbers').execute();
  await db.schema.dropTable('api_keys').execute();
  await db.schema.dropTable('accounts').execute();
}
