import { randomUUID } from 'node:crypto';
import type { Db, WebhookRow } from '@reach/database';
import { sql } from 'kysely';
import type { WebhookSubscription } from './planned-delivery';
import type { ReachCellWebhookEvent } from './reachcell-events';
import { generateWebhookSecret, webhookSecretPrefix, webhookSigningKey } from './webhook-secret';
import { WebhooksError } from './webhooks.errors';

/** An endpoint as the account sees it; the secret is never part of it. */
export interface Webhook {
  readonly id: string;
  readonly accountId: string;
  readonly url: string;
  readonly label: string;
  readonly events: readonly string[];
  readonly secretPrefix: string;
  readonly status: 'active' | 'disabled';
  readonly disabledReason: string | null;
  readonly createdAt: Date;
  readonly disabledAt: Date | null;
}

export interface NewWebhook {
  readonly accountId: string;
  readonly url: string;
  readonly label: string;
  readonly events: readonly ReachCellWebhookEvent[];
  readonly now: Date;
}

/** Enough for any honest integration, few enough that one account cannot fan an event out without bound. */
export const MAX_WEBHOOKS_PER_ACCOUNT = 20;

/** Registers an endpoint and returns its secret, the only time the secret exists outside the caller. */
export async function createWebhook(db: Db, input: NewWebhook): Promise<{ webhook: Webhook; secret: string }> {
  const secret = generateWebhookSecret();
  const id = randomUUID();
  // Count and insert under the account's advisory lock, so two concurrent creates cannot both pass the limit.
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`webhooks:${input.accountId}`}, 0))`.execute(trx);
    const { count } = await trx
      .selectFrom('webhooks')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('account_id', '=', input.accountId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    if (Number(count) >= MAX_WEBHOOKS_PER_ACCOUNT) {
      throw new WebhooksError('TOO_MANY_WEBHOOKS', `an account can register at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks`);
    }
    const row = await trx
      .insertInto('webhooks')
      .values({
        id,
        account_id: input.accountId,
        url: input.url,
        label: input.label,
        events: [...new Set(input.events)],
        signing_key: webhookSigningKey(secret),
        secret_prefix: webhookSecretPrefix(secret),
        created_at: input.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { webhook: toWebhook(row), secret };
  });
}

/** The account's endpoints (deleted ones are gone), oldest first. */
export async function listWebhooks(db: Db, accountId: string): Promise<Webhook[]> {
  const rows = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('deleted_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toWebhook);
}

export async function findWebhook(db: Db, accountId: string, webhookId: string): Promise<Webhook | null> {
  if (!isUuid(webhookId)) return null;
  const row = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('id', '=', webhookId)
    .where('account_id', '=', accountId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row ? toWebhook(row) : null;
}

/**
 * Removes an endpoint: nothing more is planned for it and its pending deliveries are canceled.
 * The row stays (soft delete) so its delivery history can still be read.
 */
export async function deleteWebhook(db: Db, accountId: string, webhookId: string, now: Date): Promise<void> {
  if (!isUuid(webhookId)) throw notFound(webhookId);
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('webhooks')
      .set({ deleted_at: now })
      .where('id', '=', webhookId)
      .where('account_id', '=', accountId)
      .where('deleted_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    if (!row) throw notFound(webhookId);
    await cancelOpenDeliveries(trx, { webhookId }, 'the webhook was deleted', now);
  });
}

/** The endpoint answered 410 Gone: stop it, and cancel what was waiting for it. Idempotent. */
export async function disableWebhook(db: Db, webhookId: string, reason: string, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('webhooks')
      .set({ status: 'disabled', disabled_reason: reason, disabled_at: now })
      .where('id', '=', webhookId)
      .where('status', '=', 'active')
      .execute();
    await cancelOpenDeliveries(trx, { webhookId }, `the webhook was disabled: ${reason}`, now);
  });
}

/** Cancels a target's deliveries that have not gone out yet (those in flight finish on their own). */
export async function cancelOpenDeliveries(
  db: Db,
  target: { readonly webhookId: string } | { readonly orderingKey: string },
  reason: string,
  now: Date,
): Promise<void> {
  let query = db
    .updateTable('deliveries')
    .set({ state: 'canceled', last_error: reason, completed_at: now, next_attempt_at: null })
    .where('state', '=', 'pending');
  query = 'webhookId' in target ? query.where('webhook_id', '=', target.webhookId) : query.where('ordering_key', '=', target.orderingKey);
  await query.execute();
}

/** The account's active endpoints, as the delivery planner sees them. */
export async function webhookSubscriptions(db: Db, accountId: string): Promise<WebhookSubscription[]> {
  const rows = await db
    .selectFrom('webhooks')
    .select(['id', 'account_id', 'url', 'events', 'created_at'])
    .where('account_id', '=', accountId)
    .where('status', '=', 'active')
    .where('deleted_at', 'is', null)
    .execute();
  return rows.map((row) => ({ id: row.id, accountId: row.account_id, url: row.url, events: row.events, createdAt: row.created_at }));
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Lets a malformed id read as "not found" instead of a PostgreSQL cast error. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

function notFound(webhookId: string): WebhooksError {
  return new WebhooksError('WEBHOOK_NOT_FOUND', `no webhook ${webhookId}`);
}

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    accountId: row.account_id,
    url: row.url,
    label: row.label,
    events: row.events,
    secretPrefix: row.secret_prefix,
    status: row.status,
    disabledReason: row.disabled_reason,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
  };
}
