import { randomUUID } from 'node:crypto';
import type { MessageEvent } from '@reach/contracts';
import { openDatabase, type DatabaseHandle, type Db, type DeliveryRow } from '@reach/database';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import {
  claimDueDeliveries,
  findDelivery,
  insertPlannedDeliveries,
  listDeliveries,
  purgeFinishedDeliveries,
  reclaimAbandonedDeliveries,
  recordAttemptResults,
  redeliver,
  releaseUnstartedDeliveries,
  type AttemptResult,
  type ClaimedDelivery,
  type ClaimOptions,
} from './deliveries.repository';
import { deliveryIdFor, STATUS_CALLBACK_TARGET } from './delivery-id';
import { planMessageDeliveries, type StoredMessageEvent } from './plan-message-deliveries';
import { FORM_CONTENT_TYPE, type PlannedDelivery } from './planned-delivery';
import { createWebhook, webhookSubscriptions } from './webhooks.repository';
import { WebhooksError } from './webhooks.errors';

let database: TestDatabase;
/** A second pool on the same database: claims that must not share a connection. */
let other: DatabaseHandle;

beforeAll(async () => {
  database = await createTestDatabase();
  other = openDatabase(database.url, { max: 4, application_name: 'reach-test-other' });
});

afterAll(async () => {
  await other?.close();
  await database?.drop();
});

// Claims look at the whole outbox, so every test starts from an empty one.
beforeEach(async () => {
  await database.db.deleteFrom('delivery_attempts').execute();
  await database.db.deleteFrom('deliveries').execute();
});

// ---------------------------------------------------------------------------------------------
// fixtures

const T0 = new Date('2026-11-22T10:00:00.000Z');
const after = (ms: number, from: Date = T0): Date => new Date(from.getTime() + ms);
const LEASE_MS = 30_000;

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

/** A planned status callback; every field can be overridden. */
function callback(accountId: string, overrides: Partial<PlannedDelivery> = {}): PlannedDelivery {
  const eventId = overrides.eventId ?? randomUUID();
  return {
    id: deliveryIdFor(eventId, STATUS_CALLBACK_TARGET),
    accountId,
    kind: 'status_callback',
    webhookId: null,
    messageId: null,
    eventId,
    eventType: 'queued',
    url: 'https://hooks.example.com/cb',
    endpointKey: 'origin:https://hooks.example.com',
    orderingKey: `callback:${eventId}`,
    sequence: 0n,
    contentType: FORM_CONTENT_TYPE,
    payload: `messageId=${eventId}&status=queued`,
    ...overrides,
  };
}

function claim(db: Db, now: Date, overrides: Partial<ClaimOptions> = {}): Promise<ClaimedDelivery[]> {
  return claimDueDeliveries(db, { limit: 100, now, leaseMs: LEASE_MS, excludeEndpoints: [], perEndpointLimit: 1_000, ...overrides });
}

function result(claimed: Pick<ClaimedDelivery, 'id' | 'attempt'>, overrides: Partial<AttemptResult> = {}): AttemptResult {
  return {
    deliveryId: claimed.id,
    attempt: claimed.attempt,
    startedAt: T0,
    latencyMs: 12.4,
    statusCode: 200,
    outcome: 'succeeded',
    error: null,
    responseExcerpt: 'ok',
    nextState: 'succeeded',
    nextAttemptAt: null,
    completedAt: T0,
    ...overrides,
  };
}

async function rowOf(id: string): Promise<DeliveryRow> {
  return database.db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function expectWebhooksError(promise: Promise<unknown>, code: WebhooksError['code']): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(WebhooksError);
  await expect(promise).rejects.toMatchObject({ code });
}

/** A Reach message with a status callback through to delivery, as the store hands it back. */
function messageStream(accountId: string, messageId: string): StoredMessageEvent[] {
  const ref = { accountId, messageId };
  const at = (s: number) => after(s * 1000).toISOString();
  const events: MessageEvent[] = [
    {
      type: 'MessageAccepted',
      data: {
        ...ref,
        from: '+14155552671',
        to: '+14155553000',
        body: 'Grüße 👋 漢字',
        segments: { encoding: 'UCS-2', count: 1 },
        channel: 'simulated',
        dialect: 'reach',
        bulkId: null,
        statusCallback: 'https://hooks.example.com/status?x=1',
        maxPrice: null,
        validityPeriodSeconds: 14_400,
        expiresAt: at(14_400),
        scheduledFor: null,
        billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
        acceptedAt: at(0),
      },
    },
    { type: 'MessageQueued', data: { ...ref, from: '+14155552671', queuedAt: at(1) } },
    { type: 'MessageDispatched', data: { ...ref, channel: 'simulated', dispatchedAt: at(2) } },
    { type: 'MessageSent', data: { ...ref, sentAt: at(3), providerMessageId: null } },
    { type: 'MessageDelivered', data: { ...ref, deliveredAt: at(4), dlrDate: '2611221000' } },
  ];
  return events.map((event, revision) => ({ eventId: randomUUID(), revision: BigInt(revision), recordedAt: after(revision * 1000), event }));
}

// ---------------------------------------------------------------------------------------------

describe('insertPlannedDeliveries', () => {
  it('stores a plan as pending and due now; the same plan again inserts nothing', async () => {
    const accountId = await newAccount();
    const { webhook } = await createWebhook(database.db, {
      accountId,
      url: 'https://app.example.com/hook',
      label: 'app',
      events: ['sms.sent', 'sms.delivered'],
      now: after(-60_000),
    });
    const messageId = randomUUID();
    const plan = planMessageDeliveries(messageStream(accountId, messageId), await webhookSubscriptions(database.db, accountId));
    expect(plan.map((p) => `${p.kind}:${p.eventType}`)).toEqual([
      'status_callback:queued',
      'status_callback:sent',
      'webhook:sms.sent',
      'status_callback:delivered',
      'webhook:sms.delivered',
    ]);

    expect(await insertPlannedDeliveries(database.db, plan, T0)).toBe(5);
    expect(await insertPlannedDeliveries(database.db, plan, after(5_000))).toBe(0);

    const rows = await database.db.selectFrom('deliveries').selectAll().orderBy('sequence').orderBy('kind').execute();
    expect(rows).toHaveLength(5);
    for (const planned of plan) {
      const row = rows.find((r) => r.id === planned.id);
      expect(row).toEqual<DeliveryRow>({
        id: planned.id,
        account_id: accountId,
        kind: planned.kind,
        webhook_id: planned.kind === 'webhook' ? webhook.id : null,
        message_id: messageId,
        event_id: planned.eventId,
        event_type: planned.eventType,
        url: planned.url,
        endpoint_key: planned.endpointKey,
        ordering_key: planned.orderingKey,
        sequence: String(planned.sequence),
        content_type: planned.contentType,
        payload: planned.payload,
        state: 'pending',
        attempts: 0,
        next_attempt_at: T0,
        lease_expires_at: null,
        last_status_code: null,
        last_error: null,
        created_at: T0,
        completed_at: null,
        trace_parent: null,
        correlation_id: null,
      });
    }
  });

  it('inserting a longer plan after a prefix of it adds only the new deliveries', async () => {
    const accountId = await newAccount();
    const stream = messageStream(accountId, randomUUID());
    const prefix = planMessageDeliveries(stream.slice(0, 4), []);
    const whole = planMessageDeliveries(stream, []);
    expect(await insertPlannedDeliveries(database.db, prefix, T0)).toBe(2);
    expect(await insertPlannedDeliveries(database.db, whole, T0)).toBe(1);
    expect(await insertPlannedDeliveries(database.db, [], T0)).toBe(0);
    const { count } = await database.db.selectFrom('deliveries').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    expect(Number(count)).toBe(3);
  });

  it('the same plan inserted by concurrent consumers still yields one row each', async () => {
    const accountId = await newAccount();
    const plan = planMessageDeliveries(messageStream(accountId, randomUUID()), []);
    const inserted = await Promise.all([
      insertPlannedDeliveries(database.db, plan, T0),
      insertPlannedDeliveries(other.db, plan, T0),
      insertPlannedDeliveries(database.db, plan, T0),
    ]);
    expect(inserted.reduce((sum, n) => sum + n, 0)).toBe(plan.length);
    const rows = await database.db.selectFrom('deliveries').select('id').execute();
    expect(rows.map((r) => r.id).sort()).toEqual(plan.map((p) => p.id).sort());
  });
});

describe('claimDueDeliveries', () => {
  it('takes due pending deliveries only, marking them in flight with attempt 1 and a lease', async () => {
    const accountId = await newAccount();
    const due = callback(accountId, { messageId: randomUUID() });
    const future = callback(accountId);
    const finished = callback(accountId);
    await insertPlannedDeliveries(database.db, [due, finished], T0);
    await insertPlannedDeliveries(database.db, [future], after(60_000));
    await database.db.updateTable('deliveries').set({ state: 'succeeded', completed_at: T0 }).where('id', '=', finished.id).execute();

    const claimed = await claim(database.db, after(1_000));
    expect(claimed).toEqual<ClaimedDelivery[]>([
      {
        id: due.id,
        accountId,
        kind: 'status_callback',
        webhookId: null,
        messageId: due.messageId,
        eventType: 'queued',
        url: due.url,
        endpointKey: due.endpointKey,
        orderingKey: due.orderingKey,
        contentType: FORM_CONTENT_TYPE,
        payload: due.payload,
        attempt: 1,
        createdAt: T0,
        traceParent: null,
        correlationId: null,
      },
    ]);
    expect(await rowOf(due.id)).toMatchObject({ state: 'in_flight', attempts: 1, lease_expires_at: after(1_000 + LEASE_MS) });
    expect(await rowOf(future.id)).toMatchObject({ state: 'pending', attempts: 0, lease_expires_at: null });
    expect(await rowOf(finished.id)).toMatchObject({ state: 'succeeded', attempts: 0 });

    // Nothing is claimed twice: the in-flight one is no longer pending.
    expect(await claim(database.db, after(2_000))).toEqual([]);
    // The future one once its time has come.
    expect((await claim(database.db, after(60_000))).map((c) => c.id)).toEqual([future.id]);
  });

  it('takes the oldest due first, up to the limit', async () => {
    const accountId = await newAccount();
    const deliveries = [callback(accountId), callback(accountId), callback(accountId)];
    await insertPlannedDeliveries(database.db, [deliveries[2]!], after(3));
    await insertPlannedDeliveries(database.db, [deliveries[0]!], after(1));
    await insertPlannedDeliveries(database.db, [deliveries[1]!], after(2));
    expect((await claim(database.db, after(10), { limit: 2 })).map((c) => c.id).sort()).toEqual([deliveries[0]!.id, deliveries[1]!.id].sort());
    expect((await claim(database.db, after(10), { limit: 2 })).map((c) => c.id)).toEqual([deliveries[2]!.id]);
  });

  it('skips deliveries another claimer holds: an open claim on one connection hides its rows from another', async () => {
    const accountId = await newAccount();
    const deliveries = Array.from({ length: 5 }, () => callback(accountId));
    await insertPlannedDeliveries(database.db, deliveries, T0);

    const [first, second] = await database.db.transaction().execute(async (trx) => {
      const held = await claim(trx, T0, { limit: 2 });
      // The first claim has not committed: its rows are locked, and the other connection skips them.
      const meanwhile = await claim(other.db, T0);
      return [held, meanwhile];
    });
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(3);
    const ids = [...first!, ...second!].map((c) => c.id);
    expect(new Set(ids).size).toBe(5);
    expect(ids.sort()).toEqual(deliveries.map((d) => d.id).sort());
    expect([...first!, ...second!].every((c) => c.attempt === 1)).toBe(true);
  });

  it('never hands the same delivery to two concurrent claimers', async () => {
    const accountId = await newAccount();
    const deliveries = Array.from({ length: 60 }, () => callback(accountId));
    await insertPlannedDeliveries(database.db, deliveries, T0);

    const claimers = [database.db, other.db, database.db, other.db];
    const seen: string[] = [];
    for (let round = 0; round < 10 && seen.length < deliveries.length; round += 1) {
      const batches = await Promise.all(claimers.map((db) => claim(db, T0, { limit: 7 })));
      for (const batch of batches) seen.push(...batch.map((c) => c.id));
    }
    expect(seen).toHaveLength(deliveries.length);
    expect(new Set(seen).size).toBe(deliveries.length);
    const attempts = await database.db.selectFrom('deliveries').select(['state', 'attempts']).execute();
    expect(attempts.every((row) => row.state === 'in_flight' && row.attempts === 1)).toBe(true);
  });

  it('leaves the deliveries of excluded endpoints pending for other workers', async () => {
    const accountId = await newAccount();
    const a = callback(accountId, { endpointKey: 'origin:https://a.example.com' });
    const b = callback(accountId, { endpointKey: 'origin:https://b.example.com' });
    const c = callback(accountId, { endpointKey: 'webhook:c' });
    await insertPlannedDeliveries(database.db, [a, b, c], T0);

    expect((await claim(database.db, T0, { excludeEndpoints: ['origin:https://a.example.com', 'webhook:c'] })).map((d) => d.id)).toEqual([b.id]);
    expect((await claim(database.db, T0, { excludeEndpoints: ['origin:https://a.example.com'] })).map((d) => d.id)).toEqual([c.id]);
    expect(await rowOf(a.id)).toMatchObject({ state: 'pending', attempts: 0 });
    expect((await claim(database.db, T0, { excludeEndpoints: [] })).map((d) => d.id)).toEqual([a.id]);
  });

  it('takes at most perEndpointLimit deliveries of one lane per claim, the oldest first, so a backlog does not crowd out others', async () => {
    const accountId = await newAccount();
    const busy = Array.from({ length: 6 }, () => callback(accountId, { endpointKey: 'origin:https://busy.example.com' }));
    const quiet = Array.from({ length: 2 }, () => callback(accountId, { endpointKey: 'origin:https://quiet.example.com' }));
    for (const [index, delivery] of busy.entries()) await insertPlannedDeliveries(database.db, [delivery], after(index));
    await insertPlannedDeliveries(database.db, quiet, after(100));

    const first = await claim(database.db, after(1_000), { limit: 10, perEndpointLimit: 2 });
    expect(first.filter((c) => c.endpointKey === 'origin:https://busy.example.com').map((c) => c.id)).toEqual([busy[0]!.id, busy[1]!.id]);
    expect(first.filter((c) => c.endpointKey === 'origin:https://quiet.example.com').map((c) => c.id).sort()).toEqual(quiet.map((q) => q.id).sort());
    expect((await claim(database.db, after(1_000), { limit: 10, perEndpointLimit: 2 })).map((c) => c.id)).toEqual([busy[2]!.id, busy[3]!.id]);
  });

  describe('per ordering key', () => {
    it('never takes a later sequence while an earlier one is pending or in flight, and does once it succeeded or failed', async () => {
      const accountId = await newAccount();
      const orderingKey = `callback:${randomUUID()}`;
      const [one, two, three] = [1n, 2n, 3n].map((sequence) => callback(accountId, { orderingKey, sequence }));
      // Inserted out of order, all due at once: the sequence decides, not the insertion.
      await insertPlannedDeliveries(database.db, [three!, two!, one!], T0);

      const first = await claim(database.db, T0);
      expect(first.map((c) => c.id)).toEqual([one!.id]);
      // While it is in flight the next one waits.
      expect(await claim(database.db, after(1_000))).toEqual([]);

      await recordAttemptResults(database.db, [result(first[0]!)]);
      const second = await claim(database.db, after(2_000));
      expect(second.map((c) => c.id)).toEqual([two!.id]);

      // A final failure also lets the next one go.
      await recordAttemptResults(database.db, [
        result(second[0]!, { outcome: 'failed', statusCode: null, error: 'forbidden network', nextState: 'failed', completedAt: after(2_000) }),
      ]);
      expect((await claim(database.db, after(3_000))).map((c) => c.id)).toEqual([three!.id]);
    });

    it('keeps a later sequence waiting while an earlier one waits for its retry', async () => {
      const accountId = await newAccount();
      const orderingKey = `callback:${randomUUID()}`;
      const one = callback(accountId, { orderingKey, sequence: 1n });
      const two = callback(accountId, { orderingKey, sequence: 2n });
      const unrelated = callback(accountId, { sequence: 1n });
      await insertPlannedDeliveries(database.db, [one, two, unrelated], T0);

      const first = await claim(database.db, T0);
      expect(first.map((c) => c.id).sort()).toEqual([one.id, unrelated.id].sort());
      const claimedOne = first.find((c) => c.id === one.id)!;
      await recordAttemptResults(database.db, [
        result(claimedOne, { statusCode: 503, outcome: 'retry', nextState: 'pending', nextAttemptAt: after(5_000), completedAt: null }),
      ]);

      // The retry is not due yet, so neither is anything after it.
      expect(await claim(database.db, after(4_000))).toEqual([]);
      // When it is due, the earlier one goes first, alone.
      expect((await claim(database.db, after(5_000))).map((c) => [c.id, c.attempt])).toEqual([[one.id, 2]]);
    });

    it('is not held up by a canceled predecessor, nor by another ordering key', async () => {
      const accountId = await newAccount();
      const orderingKey = `callback:${randomUUID()}`;
      const one = callback(accountId, { orderingKey, sequence: 1n });
      const two = callback(accountId, { orderingKey, sequence: 2n });
      const elsewhere = callback(accountId, { orderingKey: `${orderingKey}-other`, sequence: 3n });
      await insertPlannedDeliveries(database.db, [one, two, elsewhere], T0);
      await database.db.updateTable('deliveries').set({ state: 'canceled', next_attempt_at: null }).where('id', '=', one.id).execute();
      expect((await claim(database.db, T0)).map((c) => c.id).sort()).toEqual([two.id, elsewhere.id].sort());
    });

    it('holds under concurrent claimers: at most one delivery of a key in flight at a time', async () => {
      const accountId = await newAccount();
      const keys = Array.from({ length: 6 }, () => `callback:${randomUUID()}`);
      const deliveries = keys.flatMap((orderingKey) => [1n, 2n, 3n].map((sequence) => callback(accountId, { orderingKey, sequence })));
      await insertPlannedDeliveries(database.db, deliveries, T0);

      for (let round = 1; round <= 3; round += 1) {
        const now = after(round * 1_000);
        const batches = await Promise.all([claim(database.db, now, { limit: 4 }), claim(other.db, now, { limit: 4 }), claim(other.db, now, { limit: 4 })]);
        const claimed = batches.flat();
        const byKey = new Map(claimed.map((c) => [c.orderingKey, c]));
        expect(byKey.size).toBe(claimed.length);
        // Every key at this round got exactly its round-th delivery, and nothing else.
        expect(claimed).toHaveLength(keys.length);
        for (const key of keys) {
          expect(byKey.get(key)?.id).toBe(deliveries.find((d) => d.orderingKey === key && d.sequence === BigInt(round))?.id);
        }
        await recordAttemptResults(database.db, claimed.map((c) => result(c, { completedAt: now })));
      }
      expect(await claim(database.db, after(10_000))).toEqual([]);
    });
  });
});

describe('recordAttemptResults', () => {
  it('writes each attempt and the next state of its delivery', async () => {
    const accountId = await newAccount();
    const delivery = callback(accountId);
    const another = callback(accountId);
    await insertPlannedDeliveries(database.db, [delivery, another], T0);
    const claimed = await claim(database.db, T0);
    const mine = claimed.find((c) => c.id === delivery.id)!;
    const theirs = claimed.find((c) => c.id === another.id)!;

    // One batch, two deliveries: one to retry, one done.
    await recordAttemptResults(database.db, [
      result(mine, {
        startedAt: T0,
        latencyMs: 1500.6,
        statusCode: 503,
        outcome: 'retry',
        error: 'HTTP 503',
        responseExcerpt: 'busy',
        nextState: 'pending',
        nextAttemptAt: after(5_000),
        completedAt: null,
      }),
      result(theirs, { completedAt: after(100) }),
    ]);
    expect(await rowOf(delivery.id)).toMatchObject({
      state: 'pending',
      attempts: 1,
      next_attempt_at: after(5_000),
      lease_expires_at: null,
      last_status_code: 503,
      last_error: 'HTTP 503',
      completed_at: null,
    });
    expect(await rowOf(another.id)).toMatchObject({ state: 'succeeded', lease_expires_at: null, last_status_code: 200, last_error: null, completed_at: after(100) });

    const [again] = await claim(database.db, after(5_000));
    expect(again).toMatchObject({ id: delivery.id, attempt: 2 });
    await recordAttemptResults(database.db, [result(again!, { startedAt: after(5_000), latencyMs: 20, completedAt: after(5_020) })]);

    const detail = await findDelivery(database.db, accountId, delivery.id);
    expect(detail).toMatchObject({ state: 'succeeded', attempts: 2, nextAttemptAt: null, lastStatusCode: 200, completedAt: after(5_020) });
    expect(detail?.attemptLog).toEqual([
      { attempt: 1, startedAt: T0, latencyMs: 1501, statusCode: 503, outcome: 'retry', error: 'HTTP 503', responseExcerpt: 'busy' },
      { attempt: 2, startedAt: after(5_000), latencyMs: 20, statusCode: 200, outcome: 'succeeded', error: null, responseExcerpt: 'ok' },
    ]);
  });

  it('records a connection error (no status) and a final failure', async () => {
    const accountId = await newAccount();
    const delivery = callback(accountId);
    await insertPlannedDeliveries(database.db, [delivery], T0);
    const [claimed] = await claim(database.db, T0);
    await recordAttemptResults(database.db, [
      result(claimed!, { statusCode: null, latencyMs: null, outcome: 'failed', error: 'ECONNREFUSED', responseExcerpt: null, nextState: 'failed', completedAt: after(10) }),
    ]);
    expect(await rowOf(delivery.id)).toMatchObject({ state: 'failed', last_status_code: null, last_error: 'ECONNREFUSED', completed_at: after(10) });
    expect((await findDelivery(database.db, accountId, delivery.id))?.attemptLog).toEqual([
      { attempt: 1, startedAt: T0, latencyMs: null, statusCode: null, outcome: 'failed', error: 'ECONNREFUSED', responseExcerpt: null },
    ]);
  });

  it('can end a delivery as canceled (its endpoint went away)', async () => {
    const accountId = await newAccount();
    const delivery = callback(accountId);
    await insertPlannedDeliveries(database.db, [delivery], T0);
    const [claimed] = await claim(database.db, T0);
    await recordAttemptResults(database.db, [
      result(claimed!, { statusCode: 410, outcome: 'endpoint_gone', error: 'HTTP 410', nextState: 'canceled', completedAt: after(5) }),
    ]);
    expect(await rowOf(delivery.id)).toMatchObject({ state: 'canceled', last_status_code: 410, completed_at: after(5), lease_expires_at: null });
    expect((await findDelivery(database.db, accountId, delivery.id))?.attemptLog.map((a) => a.outcome)).toEqual(['endpoint_gone']);
  });

  it('does nothing for an empty batch', async () => {
    await expect(recordAttemptResults(database.db, [])).resolves.toBeUndefined();
  });

  it('a stale result (the lease expired and the delivery was taken over) does not change the delivery', async () => {
    const accountId = await newAccount();
    const delivery = callback(accountId);
    await insertPlannedDeliveries(database.db, [delivery], T0);
    const [stale] = await claim(database.db, T0);
    expect(stale?.attempt).toBe(1);

    // The worker hangs past its lease; the delivery is put back and claimed by another worker.
    expect(await reclaimAbandonedDeliveries(database.db, after(LEASE_MS))).toBe(1);
    // A late result while it is pending again changes nothing.
    await recordAttemptResults(database.db, [result(stale!, { completedAt: after(LEASE_MS + 1) })]);
    expect(await rowOf(delivery.id)).toMatchObject({ state: 'pending', attempts: 1, completed_at: null });

    const [current] = await claim(other.db, after(LEASE_MS + 2));
    expect(current).toMatchObject({ id: delivery.id, attempt: 2 });
    const leased = await rowOf(delivery.id);

    // A late result for attempt 1 while attempt 2 is in flight changes nothing either.
    await recordAttemptResults(database.db, [result(stale!, { completedAt: after(LEASE_MS + 3) })]);
    expect(await rowOf(delivery.id)).toEqual(leased);
    expect(leased).toMatchObject({ state: 'in_flight', attempts: 2 });

    // The current attempt's result lands.
    await recordAttemptResults(other.db, [result(current!, { statusCode: 204, completedAt: after(LEASE_MS + 4) })]);
    expect(await rowOf(delivery.id)).toMatchObject({ state: 'succeeded', attempts: 2, last_status_code: 204, completed_at: after(LEASE_MS + 4) });
    const log = (await findDelivery(database.db, accountId, delivery.id))?.attemptLog;
    expect(log?.map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([
      [1, 'retry', null],
      [2, 'succeeded', 204],
    ]);
    expect(log?.[0]?.error).toMatch(/^abandoned/);
  });

  it('a result for a delivery that is no longer in flight (finished, or redelivered) changes nothing', async () => {
    const accountId = await newAccount();
    const delivery = callback(accountId);
    await insertPlannedDeliveries(database.db, [delivery], T0);
    const [claimed] = await claim(database.db, T0);
    await recordAttemptResults(database.db, [result(claimed!, { completedAt: after(1) })]);
    const done = await rowOf(delivery.id);
    // The same result delivered twice (a retried batch write).
    await recordAttemptResults(database.db, [
      result(claimed!, { outcome: 'retry', statusCode: 500, nextState: 'pending', nextAttemptAt: after(5_000), completedAt: null }),
    ]);
    expect(await rowOf(delivery.id)).toEqual(done);
  });
});

describe('purgeFinishedDeliveries', () => {
  it('deletes finished deliveries completed before the cut-off, with their attempts, a batch at a time, and nothing open', async () => {
    const accountId = await newAccount();
    const old = [callback(accountId), callback(accountId), callback(accountId)];
    const recent = callback(accountId);
    const open = callback(accountId);
    await insertPlannedDeliveries(database.db, [...old, recent, open], T0);
    const claimed = await claim(database.db, T0);
    const finish = (id: string, at: Date) => result(claimed.find((c) => c.id === id)!, { completedAt: at });
    await recordAttemptResults(database.db, [
      ...old.map((d) => finish(d.id, after(1_000))),
      finish(recent.id, after(10_000)),
      result(claimed.find((c) => c.id === open.id)!, { outcome: 'retry', nextState: 'pending', nextAttemptAt: after(60_000), completedAt: null }),
    ]);

    expect(await purgeFinishedDeliveries(database.db, after(5_000), 2)).toBe(2);
    expect(await purgeFinishedDeliveries(database.db, after(5_000), 2)).toBe(1);
    expect(await purgeFinishedDeliveries(database.db, after(5_000), 2)).toBe(0);

    const left = await database.db.selectFrom('deliveries').select('id').execute();
    expect(left.map((row) => row.id).sort()).toEqual([recent.id, open.id].sort());
    const attempts = await database.db.selectFrom('delivery_attempts').select('delivery_id').execute();
    expect(new Set(attempts.map((row) => row.delivery_id))).toEqual(new Set([recent.id, open.id]));
  });
});

describe('releaseUnstartedDeliveries', () => {
  it('hands claimed but never attempted deliveries back to pending, as if never claimed', async () => {
    const accountId = await newAccount();
    const orderingKey = `callback:${randomUUID()}`;
    const one = callback(accountId, { orderingKey, sequence: 1n });
    const two = callback(accountId, { orderingKey, sequence: 2n });
    await insertPlannedDeliveries(database.db, [one, two], T0);
    const before = await rowOf(one.id);
    const claimed = await claim(database.db, T0);
    expect(claimed.map((c) => c.id)).toEqual([one.id]);

    await releaseUnstartedDeliveries(database.db, claimed);
    expect(await rowOf(one.id)).toEqual(before);
    // Its place in the order is kept: it is claimed again before its successor, still as attempt 1.
    expect((await claim(database.db, T0)).map((c) => [c.id, c.attempt])).toEqual([[one.id, 1]]);
    await releaseUnstartedDeliveries(database.db, []);
  });

  it('leaves alone a delivery that is no longer that claim (taken over, or finished)', async () => {
    const accountId = await newAccount();
    const delivery = callback(accountId);
    await insertPlannedDeliveries(database.db, [delivery], T0);
    const [stale] = await claim(database.db, T0);
    await reclaimAbandonedDeliveries(database.db, after(LEASE_MS));
    const [current] = await claim(database.db, after(LEASE_MS));
    const leased = await rowOf(delivery.id);
    await releaseUnstartedDeliveries(database.db, [stale!]);
    expect(await rowOf(delivery.id)).toEqual(leased);

    await recordAttemptResults(database.db, [result(current!, { completedAt: after(LEASE_MS + 1) })]);
    const done = await rowOf(delivery.id);
    await releaseUnstartedDeliveries(database.db, [current!]);
    expect(await rowOf(delivery.id)).toEqual(done);
  });
});

describe('reclaimAbandonedDeliveries', () => {
  it('puts deliveries whose lease expired back to pending, due now, and logs the lost attempt as abandoned', async () => {
    const accountId = await newAccount();
    const abandoned = callback(accountId);
    const stillLeased = callback(accountId);
    const pending = callback(accountId);
    await insertPlannedDeliveries(database.db, [abandoned], T0);
    await claim(database.db, T0);
    await insertPlannedDeliveries(database.db, [stillLeased], after(10_000));
    await claim(database.db, after(10_000));
    await insertPlannedDeliveries(database.db, [pending], after(20_000));

    expect(await reclaimAbandonedDeliveries(database.db, after(LEASE_MS - 1))).toBe(0);
    const reclaimedAt = after(LEASE_MS);
    expect(await reclaimAbandonedDeliveries(database.db, reclaimedAt)).toBe(1);

    expect(await rowOf(abandoned.id)).toMatchObject({
      state: 'pending',
      attempts: 1,
      next_attempt_at: reclaimedAt,
      lease_expires_at: null,
      last_error: expect.stringContaining('abandoned'),
    });
    expect(await rowOf(stillLeased.id)).toMatchObject({ state: 'in_flight', lease_expires_at: after(10_000 + LEASE_MS) });
    expect(await rowOf(pending.id)).toMatchObject({ state: 'pending', attempts: 0 });
    const attempts = await database.db.selectFrom('delivery_attempts').selectAll().execute();
    expect(attempts).toEqual([
      {
        delivery_id: abandoned.id,
        attempt: 1,
        started_at: expect.any(Date),
        latency_ms: null,
        status_code: null,
        outcome: 'retry',
        error: expect.stringMatching(/^abandoned/),
        response_excerpt: null,
      },
    ]);

    // Once is enough: nothing is left to reclaim, and the delivery is claimable again (attempt 2).
    expect(await reclaimAbandonedDeliveries(database.db, reclaimedAt)).toBe(0);
    // Oldest due first: the pending one was due at 20 s, the reclaimed one at 30 s.
    expect((await claim(database.db, reclaimedAt)).map((c) => [c.id, c.attempt])).toEqual([
      [pending.id, 1],
      [abandoned.id, 2],
    ]);
  });
});

describe('redeliver', () => {
  async function finishedDelivery(accountId: string, state: 'succeeded' | 'failed'): Promise<PlannedDelivery> {
    const delivery = callback(accountId);
    await insertPlannedDeliveries(database.db, [delivery], T0);
    const claimed = (await claim(database.db, T0)).find((c) => c.id === delivery.id)!;
    await recordAttemptResults(database.db, [
      result(claimed, state === 'succeeded' ? { completedAt: after(10) } : { outcome: 'failed', statusCode: null, nextState: 'failed', completedAt: after(10) }),
    ]);
    return delivery;
  }

  it.each(['succeeded', 'failed'] as const)('sends a %s delivery again now, with the same id, as one more attempt', async (state) => {
    const accountId = await newAccount();
    const delivery = await finishedDelivery(accountId, state);
    const now = after(3_600_000);

    const detail = await redeliver(database.db, accountId, delivery.id, now);
    expect(detail).toMatchObject({ id: delivery.id, state: 'pending', attempts: 1, nextAttemptAt: now, completedAt: null });
    expect(detail.attemptLog).toHaveLength(1);
    expect(await rowOf(delivery.id)).toMatchObject({ state: 'pending', next_attempt_at: now, completed_at: null, payload: delivery.payload });

    expect((await claim(database.db, now)).map((c) => [c.id, c.attempt])).toEqual([[delivery.id, 2]]);
  });

  it('brings a canceled delivery back, and moves a pending one up to now', async () => {
    const accountId = await newAccount();
    const canceled = callback(accountId);
    const waiting = callback(accountId);
    await insertPlannedDeliveries(database.db, [canceled], T0);
    await insertPlannedDeliveries(database.db, [waiting], after(86_400_000));
    await database.db.updateTable('deliveries').set({ state: 'canceled', next_attempt_at: null, completed_at: T0 }).where('id', '=', canceled.id).execute();

    const now = after(60_000);
    expect(await redeliver(database.db, accountId, canceled.id, now)).toMatchObject({ state: 'pending', nextAttemptAt: now, completedAt: null });
    expect(await redeliver(database.db, accountId, waiting.id, now)).toMatchObject({ state: 'pending', nextAttemptAt: now });
    expect((await claim(database.db, now)).map((c) => c.id).sort()).toEqual([canceled.id, waiting.id].sort());
  });

  it('refuses a delivery in flight with DELIVERY_IN_FLIGHT, and leaves it alone', async () => {
    const accountId = await newAccount();
    const delivery = callback(accountId);
    await insertPlannedDeliveries(database.db, [delivery], T0);
    await claim(database.db, T0);
    const before = await rowOf(delivery.id);
    await expectWebhooksError(redeliver(database.db, accountId, delivery.id, after(1_000)), 'DELIVERY_IN_FLIGHT');
    expect(await rowOf(delivery.id)).toEqual(before);
  });

  it("answers DELIVERY_NOT_FOUND for another account's delivery, an unknown id and a malformed one", async () => {
    const owner = await newAccount();
    const stranger = await newAccount();
    const delivery = await finishedDelivery(owner, 'succeeded');
    const before = await rowOf(delivery.id);
    await expectWebhooksError(redeliver(database.db, stranger, delivery.id, after(1_000)), 'DELIVERY_NOT_FOUND');
    await expectWebhooksError(redeliver(database.db, owner, randomUUID(), after(1_000)), 'DELIVERY_NOT_FOUND');
    await expectWebhooksError(redeliver(database.db, owner, 'not-a-uuid', after(1_000)), 'DELIVERY_NOT_FOUND');
    expect(await rowOf(delivery.id)).toEqual(before);
  });
});

describe('listDeliveries and findDelivery', () => {
  it("lists an account's deliveries by message and by webhook, newest first, with their attempts, and nobody else's", async () => {
    const accountId = await newAccount();
    const otherAccountId = await newAccount();
    const { webhook } = await createWebhook(database.db, { accountId, url: 'https://app.example.com/h', label: 'h', events: ['sms.sent', 'sms.delivered'], now: after(-1) });
    const { webhook: otherWebhook } = await createWebhook(database.db, {
      accountId: otherAccountId,
      url: 'https://other.example.com/h',
      label: 'h',
      events: ['sms.sent', 'sms.delivered'],
      now: after(-1),
    });
    const messageA = randomUUID();
    const messageB = randomUUID();
    const planA = planMessageDeliveries(messageStream(accountId, messageA), await webhookSubscriptions(database.db, accountId));
    const planB = planMessageDeliveries(messageStream(accountId, messageB), []);
    const planOther = planMessageDeliveries(messageStream(otherAccountId, messageA), await webhookSubscriptions(database.db, otherAccountId));
    await insertPlannedDeliveries(database.db, planA, T0);
    await insertPlannedDeliveries(database.db, planB, after(1_000));
    await insertPlannedDeliveries(database.db, planOther, after(2_000));
    // planOther reuses message A's id under another account: the filter must still keep accounts apart.
    // One status callback of message A goes out and succeeds.
    const claimed = await claim(database.db, after(3_000), { limit: 1, excludeEndpoints: [`webhook:${webhook.id}`, `webhook:${otherWebhook.id}`] });
    await recordAttemptResults(database.db, claimed.map((c) => result(c, { completedAt: after(3_001) })));

    const byMessage = await listDeliveries(database.db, { accountId, messageId: messageA, page: 1, perPage: 50 });
    expect(byMessage.total).toBe(planA.length);
    // Same created_at: the higher sequence first.
    expect(byMessage.deliveries.map((d) => d.id)).toEqual(
      [...planA].sort((x, y) => (x.sequence === y.sequence ? (x.id < y.id ? -1 : 1) : x.sequence > y.sequence ? -1 : 1)).map((p) => p.id),
    );
    expect(byMessage.deliveries.every((d) => d.messageId === messageA)).toBe(true);

    const byWebhook = await listDeliveries(database.db, { accountId, webhookId: webhook.id, page: 1, perPage: 50 });
    expect(byWebhook.deliveries.map((d) => d.eventType)).toEqual(['sms.delivered', 'sms.sent']);
    expect(byWebhook.total).toBe(2);

    const all = await listDeliveries(database.db, { accountId, page: 1, perPage: 50 });
    expect(all.total).toBe(planA.length + planB.length);
    // Newest first: message B's deliveries were created later.
    expect(all.deliveries.slice(0, planB.length).every((d) => d.messageId === messageB)).toBe(true);
    const succeeded = all.deliveries.find((d) => d.id === claimed[0]?.id);
    expect(succeeded).toMatchObject({ state: 'succeeded', attempts: 1, nextAttemptAt: null, lastStatusCode: 200 });
    expect(succeeded?.attemptLog).toHaveLength(1);
    const pending = all.deliveries.find((d) => d.state === 'pending');
    expect(pending?.nextAttemptAt).toBeInstanceOf(Date);
    expect(pending?.attemptLog).toEqual([]);

    const byState = await listDeliveries(database.db, { accountId, state: 'succeeded', page: 1, perPage: 50 });
    expect(byState.deliveries.map((d) => d.id)).toEqual(claimed.map((c) => c.id));

    // Tenant isolation.
    const theirs = await listDeliveries(database.db, { accountId: otherAccountId, page: 1, perPage: 50 });
    expect(theirs.deliveries.map((d) => d.id).sort()).toEqual(planOther.map((p) => p.id).sort());
    expect(await listDeliveries(database.db, { accountId: otherAccountId, webhookId: webhook.id, page: 1, perPage: 50 })).toEqual({ total: 0, deliveries: [] });
    expect(await listDeliveries(database.db, { accountId: otherAccountId, messageId: messageB, page: 1, perPage: 50 })).toEqual({ total: 0, deliveries: [] });
    expect(await findDelivery(database.db, otherAccountId, planA[0]!.id)).toBeNull();
    expect(await findDelivery(database.db, accountId, planA[0]!.id)).toMatchObject({ id: planA[0]!.id, payload: planA[0]!.payload, contentType: FORM_CONTENT_TYPE });

    // Malformed ids read as "nothing", not as a database error.
    expect(await listDeliveries(database.db, { accountId, messageId: 'nope', page: 1, perPage: 50 })).toEqual({ total: 0, deliveries: [] });
    expect(await listDeliveries(database.db, { accountId, webhookId: 'nope', page: 1, perPage: 50 })).toEqual({ total: 0, deliveries: [] });
    expect(await findDelivery(database.db, accountId, 'nope')).toBeNull();
  });

  it('pages through every delivery exactly once', async () => {
    const accountId = await newAccount();
    const deliveries = Array.from({ length: 7 }, (_, index) => callback(accountId, { sequence: BigInt(index) }));
    for (const [index, delivery] of deliveries.entries()) await insertPlannedDeliveries(database.db, [delivery], after(index * 1_000));

    const pages: Awaited<ReturnType<typeof listDeliveries>>[] = [];
    for (let page = 1; page <= 4; page += 1) pages.push(await listDeliveries(database.db, { accountId, page, perPage: 3 }));
    expect(pages.map((p) => p.total)).toEqual([7, 7, 7, 7]);
    expect(pages.map((p) => p.deliveries.length)).toEqual([3, 3, 1, 0]);
    expect(pages.flatMap((p) => p.deliveries.map((d) => d.id))).toEqual([...deliveries].reverse().map((d) => d.id));
  });
});
