import { Kysely, sql } from 'kysely';

/**
 * Where each outbox delivery was planned, so its attempts continue the message's trace and log
 * its correlation id: the W3C `traceparent` of the planner's span (null when tracing was off or
 * the delivery was planned outside a trace, such as reachctl's number events) and the correlation
 * id of the request the message came from. Both nullable: rows planned before this have neither.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table deliveries add column trace_parent text, add column correlation_id text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table deliveries drop column trace_parent, drop column correlation_id`.execute(db);
}
