import { Kysely, sql } from 'kysely';

/**
 * Alphanumeric sender ids registered to an account, and prepaid balances.
 *
 * - `senders`: compared case-sensitively as stored, but one account cannot hold two ids that
 *   differ only in case (`senders_account_lower`), because handsets show them as the same sender.
 * - `account_balances`: an account with a row is prepaid; without one it is postpaid. The check
 *   constraint is the last line of defence against an overdraft: debits are conditional updates.
 * - `balance_reservations`: one row per message ever debited, so a debit happens at most once per
 *   message id; `refunded_at` makes the refund happen at most once too (the row stays, so a
 *   retried reservation after a refund does not debit again).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table senders (
      account_id uuid not null references accounts (id),
      sender text not null,
      created_at timestamptz not null default now(),
      primary key (account_id, sender)
    )`.execute(db);
  await sql`create unique index senders_account_lower on senders (account_id, lower(sender))`.execute(db);
  await sql`
    create table account_balances (
      account_id uuid primary key references accounts (id),
      currency text not null,
      balance numeric(14, 6) not null check (balance >= 0),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    create table balance_reservations (
      message_id uuid primary key,
      account_id uuid not null references accounts (id),
      amount numeric(14, 6) not null check (amount >= 0),
      created_at timestamptz not null default now(),
      refunded_at timestamptz
    )`.execute(db);
  await sql`create index balance_reservations_account on balance_reservations (account_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('balance_reservations').execute();
  await db.schema.dropTable('account_balances').execute();
  await db.schema.dropTable('senders').execute();
}
