import { Kysely, sql } from 'kysely';

/**
 * Where a scheduler timer was recorded and a message was put in the dispatch backlog, so that
 * firing the timer (release, expiry) and sending the message when its phone comes back continue
 * the message's trace and log its correlation id: the W3C `traceparent` of the span the row was
 * written in and the correlation id of the request the message came from. Both nullable: rows
 * written before this, or outside a trace (tracing off), have neither.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table scheduler_timers add column trace_parent text, add column correlation_id text`.execute(db);
  await sql`alter table dispatch_queue add column trace_parent text, add column correlation_id text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table dispatch_queue drop column trace_parent, drop column correlation_id`.execute(db);
  await sql`alter table scheduler_timers drop column trace_parent, drop column correlation_id`.execute(db);
}
