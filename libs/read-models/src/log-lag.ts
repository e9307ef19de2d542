import { sql, type Kysely } from 'kysely';
import type { Database } from '@reach/database';
import { PostgresEventStore, type EventStore, type LogPosition } from '@reach/event-store';
import { readCheckpoint } from './checkpoints.repository';

/** How far one checkpointed reader of the log (the relay, a projection) trails the log's head. */
export interface LogLag {
  /**
   * Events committed after the checkpoint, counted exactly up to the cap; null when the store
   * cannot count them cheaply (EventStoreDB: its positions are byte offsets, and counting means
   * reading every event).
   */
  readonly events: number | null;
  /** Age of the oldest event after the checkpoint: how long it has waited. 0 when caught up. */
  readonly seconds: number;
}

/** Above this many events behind, the count stops (an index range scan, not a table scan). */
export const LOG_LAG_COUNT_CAP = 100_000;

/** Whether `readLogLag` can count events behind (the PostgreSQL store, whose log is the `events` table). */
export function canCountLogLag(store: EventStore): boolean {
  return store instanceof PostgresEventStore;
}

/**
 * Reads the checkpoint `name` and measures how far it trails. Cheap when caught up: one probe
 * of the log-order index and one read of at most one event.
 */
export async function readLogLag(deps: { db: Kysely<Database>; store: EventStore }, name: string, now: Date): Promise<LogLag> {
  const checkpoint = await readCheckpoint(deps.db, name);
  const [events, oldest] = await Promise.all([
    canCountLogLag(deps.store) ? countEventsAfter(deps.db, checkpoint, LOG_LAG_COUNT_CAP) : Promise.resolve(null),
    deps.store.readAll({ after: checkpoint, maxCount: 1 }),
  ]);
  const waiting = oldest[0];
  return { events, seconds: waiting ? Math.max(0, now.getTime() - waiting.createdAt.getTime()) / 1000 : 0 };
}

/** Events of the PostgreSQL log after `after` in log order, counted up to `cap`. */
export async function countEventsAfter(db: Kysely<Database>, after: LogPosition, cap: number): Promise<number> {
  // START (commit -1) sorts before every real event: no transaction has id 0.
  const from = after.commit < 0n ? { commit: 0n, prepare: -1n } : after;
  const result = await sql<{ n: string }>`
    select count(*) as n from (
      select 1 from events e
      where (e.transaction_id, e.global_position) > (${String(from.commit)}::text::xid8, ${String(from.prepare)}::bigint)
      limit ${cap}
    ) as behind`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}
