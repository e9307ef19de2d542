import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '@reach/database';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { sql } from 'kysely';
import { claimDueDeliveries, insertPlannedDeliveries } from './deliveries.repository';
import { deliveryIdFor, webhookTarget } from './delivery-id';
import { JSON_CONTENT_TYPE, type PlannedDelivery } from './planned-delivery';
import type { ReachCellWebhookEvent } from './reachcell-events';
import {
  createWebhook,
  deleteWebhook,
  disableWebhook,
  findWebhook,
  listWebhooks,
  MAX_WEBHOOKS_PER_ACCOUNT,
  webhookSubscriptions,
  type Webhook,
} from './webhooks.repository';
import { WebhooksError } from './webhooks.errors';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const T0 = new Date('2026-11-22T10:00:00.000Z');
const after = (ms: number): Date => new Date(T0.getTime() + ms);

/** Accounts are inserted directly: this suite must not depend on the accounts library's API. */
async function newAccount(db: Db = database.db): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('accounts')
    .values({
      id,
      name: `Account ${id.slice(0, 8)}`,
      api_user: `AID${id.replace(/-/g, '').slice(0, 24).toUpperCase()}`,
      monthly_allowance_segments: 1000,
      overage_price_per_segment_usd: '0.0075',
    })
    .execute();
  return id;
}

function create(accountId: string, overrides: { url?: string; label?: string; events?: ReachCellWebhookEvent[]; now?: Date } = {}) {
  return createWebhook(database.db, {
    accountId,
    url: overrides.url ?? 'https://app.example.com/hooks/reach',
    label: overrides.label ?? 'production',
    events: overrides.events ?? ['sms.received', 'sms.delivered'],
    now: overrides.now ?? T0,
  });
}

async function expectWebhooksError(promise: Promise<unknown>, code: WebhooksError['code']): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(WebhooksError);
  await expect(promise).rejects.toMatchObject({ code });
}

/** A planned call to `webhook` for a fresh event. */
function callTo(webhook: Webhook, overrides: Partial<PlannedDelivery> = {}): PlannedDelivery {
  const eventId = randomUUID();
  return {
    id: deliveryIdFor(eventId, webhookTarget(webhook.id)),
    accountId: webhook.accountId,
    kind: 'webhook',
    webhookId: webhook.id,
    messageId: randomUUID(),
    eventId,
    eventType: 'sms.delivered',
    url: webhook.url,
    endpointKey: webhookTarget(webhook.id),
    orderingKey: `webhook:${webhook.id}:${eventId}`,
    sequence: 0n,
    contentType: JSON_CONTENT_TYPE,
    payload: '{}',
    ...overrides,
  };
}

async function stateOf(deliveryId: string) {
  return database.db.selectFrom('deliveries').select(['state', 'last_error', 'completed_at', 'next_attempt_at']).where('id', '=', deliveryId).executeTakeFirstOrThrow();
}

/** Claims exactly these deliveries (the only ones due at `now` in their lanes). */
async function claimAll(lanes: readonly string[], now: Date) {
  const all = await claimDueDeliveries(database.db, { limit: 1_000, now, leaseMs: 60_000, excludeEndpoints: [], perEndpointLimit: 1_000 });
  return all.filter((c) => lanes.includes(c.endpointKey));
}

// ---------------------------------------------------------------------------------------------

describe('createWebhook', () => {
  it('returns the secret once and stores only its SHA-256, which is the signing key', async () => {
    const accountId = await newAccount();
    const { webhook, secret } = await create(accountId, { events: ['sms.received', 'sms.delivered', 'sms.received'] });

    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(webhook).toEqual<Webhook>({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      accountId,
      url: 'https://app.example.com/hooks/reach',
      label: 'production',
      events: ['sms.received', 'sms.delivered'],
      secretPrefix: secret.slice(0, 12),
      status: 'active',
      disabledReason: null,
      createdAt: T0,
      disabledAt: null,
    });
    expect(JSON.stringify(webhook)).not.toContain(secret);

    const row = await database.db.selectFrom('webhooks').selectAll().where('id', '=', webhook.id).executeTakeFirstOrThrow();
    expect(row.signing_key).toEqual(createHash('sha256').update(secret, 'utf8').digest());
    expect(row.signing_key).toHaveLength(32);

    // No column holds the secret, in any form Postgres can print it.
    const { rows } = await sql<{ text: string }>`select row_to_json(w)::text as text from webhooks w where id = ${webhook.id}`.execute(database.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.text).not.toContain(secret);
    expect(rows[0]!.text).not.toContain(secret.slice(6));
    expect(rows[0]!.text).not.toContain(Buffer.from(secret, 'utf8').toString('hex'));

    // Reading it back never shows the secret again.
    expect(JSON.stringify(await listWebhooks(database.db, accountId))).not.toContain(secret);
    expect(JSON.stringify(await findWebhook(database.db, accountId, webhook.id))).not.toContain(secret);
  });

  it('gives every webhook its own secret', async () => {
    const accountId = await newAccount();
    const a = await create(accountId);
    const b = await create(accountId);
    expect(a.secret).not.toBe(b.secret);
    expect(a.webhook.id).not.toBe(b.webhook.id);
  });

  it(`refuses more than ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks per account with TOO_MANY_WEBHOOKS; a deleted one frees its place`, async () => {
    const accountId = await newAccount();
    const otherAccountId = await newAccount();
    const created: Webhook[] = [];
    for (let i = 0; i < MAX_WEBHOOKS_PER_ACCOUNT; i += 1) created.push((await create(accountId, { label: `hook ${i}` })).webhook);
    // A disabled webhook still takes its place.
    await disableWebhook(database.db, created[0]!.id, 'HTTP 410 Gone', T0);

    await expectWebhooksError(create(accountId), 'TOO_MANY_WEBHOOKS');
    // Another account is not affected.
    await expect(create(otherAccountId)).resolves.toMatchObject({ webhook: { accountId: otherAccountId } });

    await deleteWebhook(database.db, accountId, created[1]!.id, T0);
    await expect(create(accountId)).resolves.toMatchObject({ webhook: { accountId } });
    await expectWebhooksError(create(accountId), 'TOO_MANY_WEBHOOKS');
  });

  it(`holds the limit of ${MAX_WEBHOOKS_PER_ACCOUNT} under concurrent creates`, async () => {
    const accountId = await newAccount();
    const attempts = 2 * MAX_WEBHOOKS_PER_ACCOUNT;
    const results = await Promise.allSettled(Array.from({ length: attempts }, (_, i) => create(accountId, { label: `race ${i}` })));
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(MAX_WEBHOOKS_PER_ACCOUNT);
    expect(rejected).toHaveLength(attempts - MAX_WEBHOOKS_PER_ACCOUNT);
    for (const r of rejected) expect(r.reason).toMatchObject({ code: 'TOO_MANY_WEBHOOKS' });
    expect(await listWebhooks(database.db, accountId)).toHaveLength(MAX_WEBHOOKS_PER_ACCOUNT);
  });
});

describe('listWebhooks, findWebhook and deleteWebhook', () => {
  it("shows an account only its own webhooks, oldest first, and lets nobody else see or delete them", async () => {
    const accountId = await newAccount();
    const strangerId = await newAccount();
    const second = (await create(accountId, { label: 'second', now: after(1_000) })).webhook;
    const first = (await create(accountId, { label: 'first', now: T0 })).webhook;
    const theirs = (await create(strangerId, { label: 'theirs' })).webhook;

    expect((await listWebhooks(database.db, accountId)).map((w) => w.label)).toEqual(['first', 'second']);
    expect((await listWebhooks(database.db, strangerId)).map((w) => w.id)).toEqual([theirs.id]);
    expect(await findWebhook(database.db, accountId, first.id)).toEqual(first);
    expect(await findWebhook(database.db, strangerId, first.id)).toBeNull();
    expect(await findWebhook(database.db, accountId, theirs.id)).toBeNull();
    expect(await findWebhook(database.db, accountId, randomUUID())).toBeNull();
    expect(await findWebhook(database.db, accountId, 'not-a-uuid')).toBeNull();

    await expectWebhooksError(deleteWebhook(database.db, strangerId, first.id, after(2_000)), 'WEBHOOK_NOT_FOUND');
    await expectWebhooksError(deleteWebhook(database.db, accountId, 'not-a-uuid', after(2_000)), 'WEBHOOK_NOT_FOUND');
    expect(await findWebhook(database.db, accountId, first.id)).toEqual(first);

    await deleteWebhook(database.db, accountId, first.id, after(2_000));
    expect((await listWebhooks(database.db, accountId)).map((w) => w.id)).toEqual([second.id]);
    expect(await findWebhook(database.db, accountId, first.id)).toBeNull();
    // Deleting again: it is gone.
    await expectWebhooksError(deleteWebhook(database.db, accountId, first.id, after(3_000)), 'WEBHOOK_NOT_FOUND');
    // The row stays for the delivery history (soft delete).
    const row = await database.db.selectFrom('webhooks').select(['deleted_at']).where('id', '=', first.id).executeTakeFirstOrThrow();
    expect(row.deleted_at).toEqual(after(2_000));
    expect(await findWebhook(database.db, strangerId, theirs.id)).toEqual(theirs);
  });

  it("deleting a webhook cancels its pending deliveries, and only those", async () => {
    const accountId = await newAccount();
    const doomed = (await create(accountId)).webhook;
    const kept = (await create(accountId)).webhook;
    const pending = callTo(doomed);
    const inFlight = callTo(doomed);
    const done = callTo(doomed);
    const elsewhere = callTo(kept);
    await insertPlannedDeliveries(database.db, [inFlight, done], T0);
    const claimed = await claimAll([webhookTarget(doomed.id)], T0);
    expect(claimed.map((c) => c.id).sort()).toEqual([inFlight.id, done.id].sort());
    await database.db.updateTable('deliveries').set({ state: 'succeeded', lease_expires_at: null, completed_at: T0 }).where('id', '=', done.id).execute();
    await insertPlannedDeliveries(database.db, [pending, elsewhere], after(1_000));

    await deleteWebhook(database.db, accountId, doomed.id, after(2_000));

    expect(await stateOf(pending.id)).toEqual({ state: 'canceled', last_error: 'the webhook was deleted', completed_at: after(2_000), next_attempt_at: null });
    // The one in flight finishes on its own; the finished one and another webhook's are untouched.
    expect(await stateOf(inFlight.id)).toMatchObject({ state: 'in_flight' });
    expect(await stateOf(done.id)).toMatchObject({ state: 'succeeded' });
    expect(await stateOf(elsewhere.id)).toMatchObject({ state: 'pending', completed_at: null });
  });
});

describe('disableWebhook', () => {
  it('stops the webhook and cancels its pending deliveries; doing it again changes nothing', async () => {
    const accountId = await newAccount();
    const gone = (await create(accountId)).webhook;
    const other = (await create(accountId)).webhook;
    const pending = callTo(gone);
    const elsewhere = callTo(other);
    await insertPlannedDeliveries(database.db, [pending, elsewhere], T0);

    await disableWebhook(database.db, gone.id, 'HTTP 410 Gone', after(1_000));
    const disabled = await findWebhook(database.db, accountId, gone.id);
    expect(disabled).toEqual<Webhook>({ ...gone, status: 'disabled', disabledReason: 'HTTP 410 Gone', disabledAt: after(1_000) });
    expect(await stateOf(pending.id)).toEqual({
      state: 'canceled',
      last_error: 'the webhook was disabled: HTTP 410 Gone',
      completed_at: after(1_000),
      next_attempt_at: null,
    });
    expect(await stateOf(elsewhere.id)).toMatchObject({ state: 'pending' });

    // Again (another worker saw the same 410): the first reason and time stay.
    await disableWebhook(database.db, gone.id, 'HTTP 410 Gone (again)', after(5_000));
    expect(await findWebhook(database.db, accountId, gone.id)).toEqual(disabled);
    expect(await stateOf(pending.id)).toMatchObject({ state: 'canceled', completed_at: after(1_000) });

    // A delivery planned meanwhile for the disabled webhook is canceled by the next disable.
    const late = callTo(gone);
    await insertPlannedDeliveries(database.db, [late], after(6_000));
    await disableWebhook(database.db, gone.id, 'HTTP 410 Gone', after(7_000));
    expect(await stateOf(late.id)).toMatchObject({ state: 'canceled' });
    expect(await findWebhook(database.db, accountId, gone.id)).toEqual(disabled);
  });

  it('is harmless for an unknown webhook', async () => {
    await expect(disableWebhook(database.db, randomUUID(), 'HTTP 410 Gone', T0)).resolves.toBeUndefined();
  });
});

describe('webhookSubscriptions', () => {
  it("lists the account's active webhooks only: not disabled, not deleted, not another account's", async () => {
    const accountId = await newAccount();
    const strangerId = await newAccount();
    const active = (await create(accountId, { events: ['sms.sent', 'sms.failed'], url: 'https://a.example.com/h', now: after(1) })).webhook;
    const disabled = (await create(accountId)).webhook;
    const deleted = (await create(accountId)).webhook;
    await create(strangerId);
    await disableWebhook(database.db, disabled.id, 'HTTP 410 Gone', T0);
    await deleteWebhook(database.db, accountId, deleted.id, T0);

    expect(await webhookSubscriptions(database.db, accountId)).toEqual([
      { id: active.id, accountId, url: 'https://a.example.com/h', events: ['sms.sent', 'sms.failed'], createdAt: after(1) },
    ]);
    expect(await webhookSubscriptions(database.db, randomUUID())).toEqual([]);
  });
});
