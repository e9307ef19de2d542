import type { AttemptOutcome, Db, DeliveryAttemptRow, DeliveryKind, DeliveryRow, DeliveryState } from '@reach/database';
import { sql } from 'kysely';
import { activeTraceparent, currentLogFields } from '@reach/telemetry';
import type { PlannedDelivery } from './planned-delivery';
import { isUuid } from './webhooks.repository';
import { WebhooksError } from './webhooks.errors';

/**
 * Records planned deliveries in the outbox, due at once. Ids are derived from (event, target),
 * so inserting the same plan again changes nothing: this is what makes the planner's consumer
 * idempotent under redelivery. Each row keeps the trace context and correlation id it was
 * planned in (the planner's consumer span), which its attempts continue.
 */
export async function insertPlannedDeliveries(db: Db, planned: readonly PlannedDelivery[], now: Date): Promise<number> {
  if (planned.length === 0) return 0;
  const traceParent = activeTraceparent();
  const correlationId = currentLogFields()?.correlationId ?? null;
  const result = await db
    .insertInto('deliveries')
    .values(
      planned.map((p) => ({
        id: p.id,
        account_id: p.accountId,
        kind: p.kind,
        webhook_id: p.webhookId,
        message_id: p.messageId,
        event_id: p.eventId,
        event_type: p.eventType,
        url: p.url,
        endpoint_key: p.endpointKey,
        ordering_key: p.orderingKey,
        sequence: p.sequence,
        content_type: p.contentType,
        payload: p.payload,
        state: 'pending' as const,
        next_attempt_at: now,
        created_at: now,
        trace_parent: traceParent,
        correlation_id: correlationId,
      })),
    )
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}

/** A delivery taken for one attempt: it is `in_flight` under a lease until its result is recorded. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly accountId: string;
  readonly kind: DeliveryKind;
  readonly webhookId: string | null;
  readonly messageId: string | null;
  readonly eventType: string;
  readonly url: string;
  readonly endpointKey: string;
  readonly orderingKey: string;
  readonly contentType: string;
  readonly payload: string;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  readonly createdAt: Date;
  /** W3C traceparent of the span that planned it (null: planned outside a trace). */
  readonly traceParent?: string | null;
  readonly correlationId?: string | null;
}

export interface ClaimOptions {
  readonly limit: number;
  readonly now: Date;
  /** How long the claim holds before another worker may take the delivery over. */
  readonly leaseMs: number;
  /** Lanes that are full in this worker: their deliveries stay pending for the others. */
  readonly excludeEndpoints: readonly string[];
  /** At most this many deliveries of one lane per claim, so one busy endpoint cannot fill a batch. */
  readonly perEndpointLimit: number;
}

/**
 * Takes up to `limit` due deliveries, oldest due first, skipping rows other workers hold and any
 * delivery whose predecessor (same ordering key, lower sequence) is still pending or in flight:
 * per message and target, deliveries go out strictly one after the other.
 *
 * The oldest `4 × limit` due candidates are ranked per lane and at most `perEndpointLimit` of each
 * lane are taken, so a backlog for one endpoint never crowds the others out of a batch.
 */
export async function claimDueDeliveries(db: Db, options: ClaimOptions): Promise<ClaimedDelivery[]> {
  const leaseUntil = new Date(options.now.getTime() + options.leaseMs);
  const excluded = options.excludeEndpoints.length > 0 ? [...options.excludeEndpoints] : [''];
  const { rows } = await sql<DeliveryRow>`
    with candidates as (
      select d.id, d.endpoint_key, d.next_attempt_at from deliveries d
      where d.state = 'pending'
        and d.next_attempt_at <= ${options.now}
        and d.endpoint_key <> all(${excluded}::text[])
        and not exists (
          select 1 from deliveries earlier
          where earlier.ordering_key = d.ordering_key
            and earlier.sequence < d.sequence
            and earlier.state in ('pending', 'in_flight'))
      order by d.next_attempt_at
      limit ${options.limit * 4}
    ), ranked as (
      select id, next_attempt_at, row_number() over (partition by endpoint_key order by next_attempt_at) as lane_rank
      from candidates
    ), due as (
      select d.id from deliveries d
      join ranked r on r.id = d.id
      where r.lane_rank <= ${options.perEndpointLimit} and d.state = 'pending'
      order by r.next_attempt_at
      limit ${options.limit}
      for update of d skip locked
    )
    update deliveries d
    set state = 'in_flight', attempts = d.attempts + 1, lease_expires_at = ${leaseUntil}
    from due where d.id = due.id
    returning d.*`.execute(db);
  return rows.map((row) => ({
    id: row.id,
    accountId: row.account_id,
    kind: row.kind,
    webhookId: row.webhook_id,
    messageId: row.message_id,
    eventType: row.event_type,
    url: row.url,
    endpointKey: row.endpoint_key,
    orderingKey: row.ordering_key,
    contentType: row.content_type,
    payload: row.payload,
    attempt: row.attempts,
    createdAt: row.created_at,
    traceParent: row.trace_parent,
    correlationId: row.correlation_id,
  }));
}

/**
 * Puts back deliveries whose worker died mid-attempt (lease expired): they are due again at
 * once, and the lost attempt is recorded as such, since the receiver may or may not have got it.
 * A later attempt carries the same delivery id, so a receiver that did get it can de-duplicate.
 */
export async function reclaimAbandonedDeliveries(db: Db, now: Date): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    with abandoned as (
      update deliveries
      set state = 'pending', next_attempt_at = ${now}, lease_expires_at = null,
          last_error = 'the attempt was abandoned: the worker stopped before recording its result'
      where id in (
        select id from deliveries
        where state = 'in_flight' and lease_expires_at <= ${now}
        for update skip locked)
      returning id, attempts, lease_expires_at
    ), recorded as (
      insert into delivery_attempts (delivery_id, attempt, started_at, outcome, error)
      select id, attempts, ${now}, 'retry', 'abandoned: the worker stopped before recording the result' from abandoned
      on conflict do nothing
    )
    select id from abandoned`.execute(db);
  return rows.length;
}

/** Hands claimed deliveries that were never attempted back to pending, as if never claimed. */
export async function releaseUnstartedDeliveries(db: Db, claimed: readonly Pick<ClaimedDelivery, 'id' | 'attempt'>[]): Promise<void> {
  if (claimed.length === 0) return;
  const values = sql.join(claimed.map((c) => sql`(${c.id}::uuid, ${c.attempt}::int)`));
  await sql`
    update deliveries d
    set state = 'pending', attempts = d.attempts - 1, lease_expires_at = null
    from (values ${values}) as v(id, attempt)
    where d.id = v.id and d.attempts = v.attempt and d.state = 'in_flight'`.execute(db);
}

/**
 * Deletes up to `limit` deliveries that finished (succeeded, failed or canceled) before `before`,
 * with their attempts (cascade). Returns how many went, so the caller can loop until done.
 */
export async function purgeFinishedDeliveries(db: Db, before: Date, limit: number): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    delete from deliveries where id in (
      select id from deliveries
      where state in ('succeeded', 'failed', 'canceled') and completed_at < ${before}
      limit ${limit})
    returning id`.execute(db);
  return rows.length;
}

/** The result of one attempt, to be written with its delivery's next state. */
export interface AttemptResult {
  readonly deliveryId: string;
  readonly attempt: number;
  readonly startedAt: Date;
  readonly latencyMs: number | null;
  readonly statusCode: number | null;
  readonly outcome: AttemptOutcome;
  readonly error: string | null;
  readonly responseExcerpt: string | null;
  /** The delivery's state after this attempt. */
  readonly nextState: Extract<DeliveryState, 'pending' | 'succeeded' | 'failed' | 'canceled'>;
  /** When `nextState` is pending: when to try again. */
  readonly nextAttemptAt: Date | null;
  readonly completedAt: Date | null;
}

/**
 * Writes a batch of attempt results in two statements. A result only lands on a delivery that
 * is still in flight with the same attempt number: if this worker's lease expired and another
 * took the delivery over, the stale result changes nothing but the attempt log.
 */
export async function recordAttemptResults(db: Db, results: readonly AttemptResult[]): Promise<void> {
  if (results.length === 0) return;
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('delivery_attempts')
      .values(
        results.map((r) => ({
          delivery_id: r.deliveryId,
          attempt: r.attempt,
          started_at: r.startedAt,
          latency_ms: r.latencyMs === null ? null : Math.round(r.latencyMs),
          status_code: r.statusCode,
          outcome: r.outcome,
          error: r.error,
          response_excerpt: r.responseExcerpt,
        })),
      )
      .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing())
      .execute();
    const values = sql.join(
      results.map(
        (r) =>
          sql`(${r.deliveryId}::uuid, ${r.attempt}::int, ${r.nextState}::text, ${r.nextAttemptAt}::timestamptz, ${r.statusCode}::int, ${r.error}::text, ${r.completedAt}::timestamptz)`,
      ),
    );
    await sql`
      update deliveries d
      set state = v.state, next_attempt_at = v.next_attempt_at, lease_expires_at = null,
          last_status_code = v.status_code, last_error = v.error, completed_at = v.completed_at
      from (values ${values}) as v(id, attempt, state, next_attempt_at, status_code, error, completed_at)
      where d.id = v.id and d.attempts = v.attempt and d.state = 'in_flight'`.execute(trx);
  });
}

/** A delivery as the account sees it (without the payload's secrets: there are none in it). */
export interface DeliverySummary {
  readonly id: string;
  readonly kind: DeliveryKind;
  readonly webhookId: string | null;
  readonly messageId: string | null;
  readonly eventId: string;
  readonly eventType: string;
  readonly url: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
}

export interface DeliveryAttempt {
  readonly attempt: number;
  readonly startedAt: Date;
  readonly latencyMs: number | null;
  readonly statusCode: number | null;
  readonly outcome: AttemptOutcome;
  readonly error: string | null;
  readonly responseExcerpt: string | null;
}

export interface DeliveryDetail extends DeliverySummary {
  readonly contentType: string;
  readonly payload: string;
  readonly attemptLog: readonly DeliveryAttempt[];
}

export interface DeliveryFilter {
  readonly accountId: string;
  readonly messageId?: string;
  readonly webhookId?: string;
  readonly state?: DeliveryState;
  /** 1-based. */
  readonly page: number;
  readonly perPage: number;
}

/** One page of the account's deliveries, newest first, each with its attempts. */
export async function listDeliveries(db: Db, filter: DeliveryFilter): Promise<{ total: number; deliveries: DeliveryDetail[] }> {
  if ((filter.messageId !== undefined && !isUuid(filter.messageId)) || (filter.webhookId !== undefined && !isUuid(filter.webhookId))) {
    return { total: 0, deliveries: [] };
  }
  let query = db.selectFrom('deliveries').where('account_id', '=', filter.accountId);
  if (filter.messageId !== undefined) query = query.where('message_id', '=', filter.messageId);
  if (filter.webhookId !== undefined) query = query.where('webhook_id', '=', filter.webhookId);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  const [{ count }, rows] = await Promise.all([
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
    query
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('sequence', 'desc')
      .orderBy('id')
      .limit(filter.perPage)
      .offset((filter.page - 1) * filter.perPage)
      .execute(),
  ]);
  const attempts = await attemptsOf(db, rows.map((row) => row.id));
  return { total: Number(count), deliveries: rows.map((row) => toDetail(row, attempts.get(row.id) ?? [])) };
}

export async function findDelivery(db: Db, accountId: string, deliveryId: string): Promise<DeliveryDetail | null> {
  if (!isUuid(deliveryId)) return null;
  const row = await db.selectFrom('deliveries').selectAll().where('id', '=', deliveryId).where('account_id', '=', accountId).executeTakeFirst();
  if (!row) return null;
  const attempts = await attemptsOf(db, [row.id]);
  return toDetail(row, attempts.get(row.id) ?? []);
}

/**
 * Sends a delivery again, by hand, with the same delivery id (receivers that already have it
 * can de-duplicate). A finished one gets one more attempt now; a pending one is moved up to
 * now. One that is in flight is refused: its result is about to be known.
 */
export async function redeliver(db: Db, accountId: string, deliveryId: string, now: Date): Promise<DeliveryDetail> {
  const existing = await findDelivery(db, accountId, deliveryId);
  if (existing === null) throw new WebhooksError('DELIVERY_NOT_FOUND', `no delivery ${deliveryId}`);
  if (existing.state === 'in_flight') throw new WebhooksError('DELIVERY_IN_FLIGHT', `delivery ${deliveryId} is being attempted right now`);
  const updated = await db
    .updateTable('deliveries')
    .set({ state: 'pending', next_attempt_at: now, completed_at: null })
    .where('id', '=', deliveryId)
    .where('account_id', '=', accountId)
    .where('state', '<>', 'in_flight')
    .returning('id')
    .executeTakeFirst();
  if (!updated) throw new WebhooksError('DELIVERY_IN_FLIGHT', `delivery ${deliveryId} is being attempted right now`);
  return (await findDelivery(db, accountId, deliveryId)) ?? existing;
}

async function attemptsOf(db: Db, deliveryIds: readonly string[]): Promise<Map<string, DeliveryAttempt[]>> {
  const byDelivery = new Map<string, DeliveryAttempt[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const rows: DeliveryAttemptRow[] = await db
    .selectFrom('delivery_attempts')
    .selectAll()
    .where('delivery_id', 'in', [...deliveryIds])
    .orderBy('delivery_id')
    .orderBy('attempt')
    .execute();
  for (const row of rows) {
    const list = byDelivery.get(row.delivery_id) ?? [];
    list.push({
      attempt: row.attempt,
      startedAt: row.started_at,
      latencyMs: row.latency_ms,
      statusCode: row.status_code,
      outcome: row.outcome,
      error: row.error,
      responseExcerpt: row.response_excerpt,
    });
    byDelivery.set(row.delivery_id, list);
  }
  return byDelivery;
}

function toDetail(row: DeliveryRow, attemptLog: readonly DeliveryAttempt[]): DeliveryDetail {
  return {
    id: row.id,
    kind: row.kind,
    webhookId: row.webhook_id,
    messageId: row.message_id,
    eventId: row.event_id,
    eventType: row.event_type,
    url: row.url,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.state === 'pending' ? row.next_attempt_at : null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    contentType: row.content_type,
    payload: row.payload,
    attemptLog,
  };
}
