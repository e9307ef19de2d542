import type { Db } from '@reach/database';
import type { ClaimedDelivery } from '@reach/webhooks';
import type { SigningMaterial } from './signed-request';

/** Why a delivery cannot be signed, and so is not sent. */
export interface SigningUnavailable {
  readonly unavailable: string;
  /** `canceled` when the target itself is gone (webhook deleted or disabled), else `failed`. */
  readonly outcome: 'canceled' | 'failed';
}

/** The account's API key to sign status callbacks with, or null when it has no active key. */
export type AccountApiKeyLookup = (accountId: string) => Promise<string | null>;

interface CachedEntry<T> {
  readonly value: T;
  readonly expiresAt: number;
}

const CACHE_TTL_MS = 30_000;

/**
 * Finds what signs each delivery, with a short cache: at thousands of deliveries a second the
 * same few keys are looked up over and over. A key revoked or a webhook deleted is honoured
 * within the TTL; deleting a webhook also cancels its pending deliveries in the same transaction.
 */
export class SigningKeys {
  private readonly apiKeys = new Map<string, CachedEntry<string | null>>();
  private readonly webhooks = new Map<string, CachedEntry<{ signingKey: Buffer; usable: boolean }>>();

  constructor(
    private readonly db: Db,
    private readonly apiKeyOf: AccountApiKeyLookup,
    private readonly clock: () => number = Date.now,
  ) {}

  async materialFor(delivery: ClaimedDelivery): Promise<SigningMaterial | SigningUnavailable> {
    if (delivery.kind === 'status_callback') {
      const apiKey = await this.cached(this.apiKeys, delivery.accountId, () => this.apiKeyOf(delivery.accountId));
      if (apiKey === null) return { unavailable: 'the account has no active API key to sign the callback with', outcome: 'failed' };
      return { kind: 'status_callback', apiKey };
    }
    const webhookId = delivery.webhookId;
    if (webhookId === null) return { unavailable: 'a webhook delivery without a webhook', outcome: 'failed' };
    const webhook = await this.cached(this.webhooks, webhookId, () => this.loadWebhook(webhookId));
    if (webhook === null || !webhook.usable) return { unavailable: 'the webhook was deleted or disabled', outcome: 'canceled' };
    return { kind: 'webhook', signingKey: webhook.signingKey };
  }

  private async loadWebhook(webhookId: string): Promise<{ signingKey: Buffer; usable: boolean } | null> {
    const row = await this.db
      .selectFrom('webhooks')
      .select(['signing_key', 'status', 'deleted_at'])
      .where('id', '=', webhookId)
      .executeTakeFirst();
    return row ? { signingKey: row.signing_key, usable: row.status === 'active' && row.deleted_at === null } : null;
  }

  private async cached<T>(cache: Map<string, CachedEntry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = this.clock();
    const hit = cache.get(key);
    if (hit !== undefined && hit.expiresAt > now) return hit.value;
    const value = await load();
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { value, expiresAt: now + CACHE_TTL_MS });
    return value;
  }
}
