import type { Db } from '@reach/database';
import { sql } from 'kysely';

/** How long a key's answer is kept (and a reuse of the key recognised). */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * An `in_progress` record older than this belongs to a request whose gateway died mid-send: the
 * same request may take it over instead of getting 409 until the key expires. A send takes
 * milliseconds, so a live request is never taken over in practice.
 */
export const IN_PROGRESS_TAKEOVER_MS = 60_000;

export interface IdempotencyClaim {
  readonly accountId: string;
  readonly key: string;
  readonly requestHash: string;
  readonly now: Date;
  readonly ttlMs?: number;
  readonly takeoverAfterMs?: number;
}

/** What the caller of `beginIdempotentRequest` must do. */
export type IdempotencyBegin =
  /** Perform the request, then `completeIdempotentRequest` or `abandonIdempotentRequest` with `claimedAt`. */
  | { readonly outcome: 'started'; readonly claimedAt: Date }
  /** Answer with what the first request answered; do not perform it again. */
  | { readonly outcome: 'replay'; readonly responseStatus: number; readonly responseBody: unknown }
  /** The key was used for a different request. */
  | { readonly outcome: 'mismatch' }
  /** The first request with this key is still running. */
  | { readonly outcome: 'in_progress' };

/**
 * Records the key before the request is performed. The insert (on conflict do nothing) is the
 * arbiter: of concurrent requests with one key exactly one inserts and starts; the others read the
 * row it wrote. An expired row is deleted and the claim tried again; so is a row that vanished
 * between our insert and our read (its request failed and was abandoned).
 */
export async function beginIdempotentRequest(db: Db, claim: IdempotencyClaim): Promise<IdempotencyBegin> {
  const expiredBefore = new Date(claim.now.getTime() - (claim.ttlMs ?? IDEMPOTENCY_KEY_TTL_MS));
  const staleBefore = new Date(claim.now.getTime() - (claim.takeoverAfterMs ?? IN_PROGRESS_TAKEOVER_MS));
  for (let attempt = 0; attempt < 5; attempt++) {
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({
        account_id: claim.accountId,
        key: claim.key,
        request_hash: claim.requestHash,
        status: 'in_progress',
        created_at: claim.now,
      })
      .onConflict((oc) => oc.columns(['account_id', 'key']).doNothing())
      .returning('created_at')
      .executeTakeFirst();
    if (inserted) return { outcome: 'started', claimedAt: claim.now };

    const row = await db
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'status', 'response_status', 'response_body', 'created_at'])
      .where('account_id', '=', claim.accountId)
      .where('key', '=', claim.key)
      .executeTakeFirst();
    if (!row) continue;
    if (row.created_at < expiredBefore) {
      await db
        .deleteFrom('idempotency_keys')
        .where('account_id', '=', claim.accountId)
        .where('key', '=', claim.key)
        .where('created_at', '<', expiredBefore)
        .execute();
      continue;
    }
    if (row.request_hash !== claim.requestHash) return { outcome: 'mismatch' };
    if (row.status === 'completed') {
      return { outcome: 'replay', responseStatus: row.response_status ?? 200, responseBody: row.response_body };
    }
    if (row.created_at >= staleBefore) return { outcome: 'in_progress' };
    // Abandoned by a gateway that died mid-request. The created_at condition makes the takeover
    // exclusive: a concurrent taker re-evaluates it after ours commits and updates nothing.
    const taken = await db
      .updateTable('idempotency_keys')
      .set({ created_at: claim.now })
      .where('account_id', '=', claim.accountId)
      .where('key', '=', claim.key)
      .where('status', '=', 'in_progress')
      .where('created_at', '<', staleBefore)
      .returning('created_at')
      .executeTakeFirst();
    if (taken) return { outcome: 'started', claimedAt: claim.now };
  }
  // Only reachable if the row keeps appearing and vanishing under us; the client retries.
  return { outcome: 'in_progress' };
}

export interface IdempotencyAnswer {
  readonly accountId: string;
  readonly key: string;
  /** `claimedAt` of the `started` outcome: only the claim's owner may complete it. */
  readonly claimedAt: Date;
  readonly responseStatus: number;
  /** Any JSON value (stored as jsonb: equal JSON on replay, object key order may differ). */
  readonly responseBody: unknown;
  readonly now: Date;
}

/** Stores the answer of a started request; false when the claim is no longer ours. */
export async function completeIdempotentRequest(db: Db, answer: IdempotencyAnswer): Promise<boolean> {
  const result = await db
    .updateTable('idempotency_keys')
    .set({
      status: 'completed',
      response_status: answer.responseStatus,
      response_body: sql`${JSON.stringify(answer.responseBody ?? null)}::jsonb`,
      completed_at: answer.now,
    })
    .where('account_id', '=', answer.accountId)
    .where('key', '=', answer.key)
    .where('status', '=', 'in_progress')
    .where('created_at', '=', answer.claimedAt)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Forgets a started request that failed on our side (5xx), so the client may retry with the key. */
export async function abandonIdempotentRequest(db: Db, claim: { accountId: string; key: string; claimedAt: Date }): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('account_id', '=', claim.accountId)
    .where('key', '=', claim.key)
    .where('status', '=', 'in_progress')
    .where('created_at', '=', claim.claimedAt)
    .execute();
}

/** Deletes every record created before `before` (expired keys); returns how many. */
export async function purgeExpiredIdempotencyKeys(db: Db, before: Date): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
