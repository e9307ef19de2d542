import { sql, type Transaction } from 'kysely';
import type { Database, Db } from '@reach/database';
import { timerKinds, type DueTimer, type Timer, type TimerKey, type TimerKind } from './timer';

/**
 * The scheduler_timers table. Writers take `db` (or a transaction) first. Batches are sorted by
 * key before they reach the database, so two writers touching overlapping keys lock them in the
 * same order and cannot deadlock each other.
 */

/** Idempotent: a timer already recorded (a redelivered event) is left as it is. */
export async function recordTimers(db: Db, timers: readonly Timer[]): Promise<void> {
  const rows = sortedUnique(timers);
  if (rows.length === 0) return;
  await sql`
    insert into scheduler_timers (message_id, kind, due_at, account_id, trace_parent, correlation_id)
    select * from unnest(
      ${rows.map((t) => t.messageId)}::uuid[], ${rows.map((t) => t.kind)}::text[],
      ${rows.map((t) => t.dueAt.toISOString())}::timestamptz[], ${rows.map((t) => t.accountId)}::uuid[],
      ${rows.map((t) => t.traceParent ?? null)}::text[], ${rows.map((t) => t.correlationId ?? null)}::text[])
    on conflict do nothing`.execute(db);
}

/** Removes timers whose command can no longer do anything (the message moved on). */
export async function removeTimers(db: Db, keys: readonly TimerKey[]): Promise<void> {
  const rows = sortedUnique(keys);
  if (rows.length === 0) return;
  await sql`
    delete from scheduler_timers t
    using unnest(${rows.map((k) => k.messageId)}::uuid[], ${rows.map((k) => k.kind)}::text[]) as d(message_id, kind)
    where t.message_id = d.message_id and t.kind = d.kind`.execute(db);
}

/**
 * Takes up to `limit` timers due at `now`, earliest first, and deletes them in the caller's
 * transaction: they are gone only if it commits. `skip locked` leaves timers another replica is
 * firing right now to that replica, so replicas split the due timers instead of both firing them.
 */
export async function claimDueTimers(trx: Transaction<Database>, now: Date, limit: number): Promise<DueTimer[]> {
  const result = await sql<{
    message_id: string;
    kind: string;
    due_at: Date;
    account_id: string;
    attempts: number;
    trace_parent: string | null;
    correlation_id: string | null;
  }>`
    with due as (
      select message_id, kind from scheduler_timers
      where due_at <= ${now.toISOString()}::timestamptz
      order by due_at
      limit ${limit}
      for update skip locked
    )
    delete from scheduler_timers t using due
    where t.message_id = due.message_id and t.kind = due.kind
    returning t.message_id, t.kind, t.due_at, t.account_id, t.attempts, t.trace_parent, t.correlation_id`.execute(trx);
  return result.rows.map((r) => ({
    messageId: r.message_id,
    kind: parseKind(r.kind),
    dueAt: r.due_at,
    accountId: r.account_id,
    attempts: r.attempts,
    traceParent: r.trace_parent,
    correlationId: r.correlation_id,
  }));
}

/** Puts claimed timers back (in the claiming transaction) to be fired again at their new time. */
export async function rescheduleTimers(trx: Transaction<Database>, timers: readonly DueTimer[]): Promise<void> {
  const rows = sortedUnique(timers);
  if (rows.length === 0) return;
  await sql`
    insert into scheduler_timers (message_id, kind, due_at, account_id, attempts, trace_parent, correlation_id)
    select * from unnest(
      ${rows.map((t) => t.messageId)}::uuid[], ${rows.map((t) => t.kind)}::text[],
      ${rows.map((t) => t.dueAt.toISOString())}::timestamptz[], ${rows.map((t) => t.accountId)}::uuid[],
      ${rows.map((t) => t.attempts)}::int[], ${rows.map((t) => t.traceParent ?? null)}::text[], ${rows.map((t) => t.correlationId ?? null)}::text[])
    on conflict (message_id, kind) do update set due_at = excluded.due_at, attempts = excluded.attempts`.execute(trx);
}

/** When the next timer falls due (possibly in the past, if another replica holds it), or null. */
export async function nextDueAt(db: Db): Promise<Date | null> {
  const result = await sql<{ due_at: Date | null }>`select min(due_at) as due_at from scheduler_timers`.execute(db);
  return result.rows[0]?.due_at ?? null;
}

/**
 * How many timers are recorded, from the table statistics: approximate, but free. An exact
 * count reads the whole table (seconds of CPU at millions of rows, on the cores that fire).
 */
export async function estimatePendingTimers(db: Db): Promise<number> {
  const result = await sql<{ n: string | null }>`
    select n_live_tup as n from pg_stat_user_tables where relid = 'scheduler_timers'::regclass`.execute(db);
  return Math.max(0, Number(result.rows[0]?.n ?? 0));
}

/** Timers due at `now` and not fired yet, counted exactly up to `cap` (an index range scan). */
export async function countOverdueTimers(db: Db, now: Date, cap: number): Promise<number> {
  const result = await sql<{ n: string }>`
    select count(*) as n from (
      select 1 from scheduler_timers where due_at <= ${now.toISOString()}::timestamptz limit ${cap}
    ) as overdue`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}

function parseKind(kind: string): TimerKind {
  if ((timerKinds as readonly string[]).includes(kind)) return kind as TimerKind;
  throw new Error(`scheduler_timers holds an unknown timer kind: ${kind}`);
}

/** One entry per key (the last one wins), ordered by (message, kind). */
function sortedUnique<T extends TimerKey>(items: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(`${item.messageId.toLowerCase()}/${item.kind}`, item);
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, item]) => item);
}
