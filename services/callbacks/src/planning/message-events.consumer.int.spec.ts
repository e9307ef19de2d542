import { randomUUID } from 'node:crypto';
import { messageStreamId, type MessageEvent } from '@reach/contracts';
import { PostgresEventStore, type RecordedEvent } from '@reach/event-store';
import type { ConsumedMessage } from '@reach/messaging';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { createWebhook, listDeliveries } from '@reach/webhooks';
import { createMessageEventsPlanner } from './message-events.consumer';

/*
 * The planner against a real PostgreSQL event store and outbox. Relayed events are handed to the
 * handler exactly as JetStream would carry them (the relay's JSON), without a NATS round trip.
 */

let database: TestDatabase;
let store: PostgresEventStore;
let accountId: string;
let planned = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  store = new PostgresEventStore(database.pool, { pollIntervalMs: 5 });
});

beforeEach(async () => {
  accountId = randomUUID();
  planned = 0;
  await database.db
    .insertInto('accounts')
    .values({ id: accountId, name: 'Planner', api_user: `AID${randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase()}`, monthly_allowance_segments: 0, overage_price_per_segment_usd: 0 })
    .execute();
});

afterAll(async () => {
  await store.close();
  await database.drop();
});

const handler = () =>
  createMessageEventsPlanner({ db: database.db, store, clock: () => new Date(), onPlanned: (count) => (planned += count) });

function relayed(event: RecordedEvent): ConsumedMessage {
  const payload = {
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    revision: String(event.revision),
    position: `${event.position.commit}/${event.position.prepare}`,
    data: event.data,
    metadata: event.metadata,
    createdAt: event.createdAt.toISOString(),
  };
  return {
    subject: `test.events.v1.${event.type}`,
    data: new TextEncoder().encode(JSON.stringify(payload)),
    headers: undefined,
    deliveryCount: 1,
    streamSequence: 1,
    json: <T>() => payload as T,
    working: () => undefined,
  };
}

async function lifecycle(statusCallback: string | null): Promise<RecordedEvent[]> {
  const messageId = randomUUID();
  const ref = { messageId, accountId };
  const now = new Date().toISOString();
  const events: MessageEvent[] = [
    {
      type: 'MessageAccepted',
      data: {
        ...ref,
        from: '+14155552671',
        to: '+14155553000',
        body: 'Grüße 👋',
        segments: { encoding: 'UCS-2', count: 1 },
        channel: 'simulated',
        dialect: 'reach',
        bulkId: 'bulk-1',
        statusCallback,
        maxPrice: null,
        validityPeriodSeconds: 14_400,
        expiresAt: new Date(Date.now() + 14_400_000).toISOString(),
        scheduledFor: null,
        billing: { monthlyAllowanceSegments: 0, overagePricePerSegmentUsd: 0 },
        acceptedAt: now,
      },
    },
    { type: 'MessageQueued', data: { ...ref, from: '+14155552671', queuedAt: now } },
    { type: 'MessageDispatched', data: { ...ref, channel: 'simulated', dispatchedAt: now } },
    { type: 'MessageSent', data: { ...ref, sentAt: now, providerMessageId: null } },
    { type: 'MessageDelivered', data: { ...ref, deliveredAt: now, dlrDate: '2611221030' } },
  ];
  await store.appendToStream(
    messageStreamId(messageId),
    events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data })),
    { expectedRevision: 'no_stream' },
  );
  return store.readStream(messageStreamId(messageId));
}

describe('message events planner', () => {
  it('plans every earlier callback with the latest event, so the outbox never holds a later status without the earlier ones', async () => {
    const events = await lifecycle('https://example.com/cb?x=1');
    const sent = events[3];
    expect(sent?.type).toBe('MessageSent');

    expect(await handler()(relayed(sent as RecordedEvent))).toEqual({ kind: 'ack' });

    const messageId = events[0]?.streamId.replace('message-', '') ?? '';
    const { deliveries } = await listDeliveries(database.db, { accountId, messageId, page: 1, perPage: 20 });
    expect(deliveries.map((d) => d.eventType).reverse()).toEqual(['queued', 'sent']);
    expect(planned).toBe(2);
  });

  it('is idempotent: the same event twice, or a later one after it, adds only what is new', async () => {
    const events = await lifecycle('https://example.com/cb');
    const plan = handler();
    for (const event of [events[1], events[1], events[3], events[4], events[4], events[2]]) {
      expect(await plan(relayed(event as RecordedEvent))).toEqual({ kind: 'ack' });
    }
    const messageId = events[0]?.streamId.replace('message-', '') ?? '';
    const { deliveries } = await listDeliveries(database.db, { accountId, messageId, page: 1, perPage: 20 });
    expect(deliveries.map((d) => d.eventType).sort()).toEqual(['delivered', 'queued', 'sent']);
    const delivered = deliveries.find((d) => d.eventType === 'delivered');
    expect(Object.fromEntries(new URLSearchParams(delivered?.payload))).toMatchObject({ status: 'delivered', dlrDate: '2611221030', body: 'Grüße 👋' });
  });

  it('plans webhook deliveries for subscribed ReachCell events only', async () => {
    const { webhook } = await createWebhook(database.db, { accountId, url: 'https://hooks.example.com/in', label: 'ops', events: ['sms.delivered'], now: new Date(Date.now() - 60_000) });
    const events = await lifecycle(null);
    await handler()(relayed(events[4] as RecordedEvent));
    const { deliveries } = await listDeliveries(database.db, { accountId, webhookId: webhook.id, page: 1, perPage: 20 });
    expect(deliveries).toHaveLength(1);
    expect(JSON.parse(deliveries[0]?.payload ?? '{}')).toMatchObject({ event_type: 'sms.delivered', api_version: 'v1', data: { status: 'delivered' } });
  });

  it('acks events that notify nobody and writes nothing', async () => {
    const events = await lifecycle(null);
    for (const event of events) expect(await handler()(relayed(event))).toEqual({ kind: 'ack' });
    expect(planned).toBe(0);
  });

  it('skips reading the stream when the append recorded no status callback and no webhook wants the event', async () => {
    const events = await lifecycle(null);
    let reads = 0;
    const countingStore = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'readStream') {
          return (...args: Parameters<PostgresEventStore['readStream']>) => {
            reads += 1;
            return target.readStream(...args);
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const plan = createMessageEventsPlanner({ db: database.db, store: countingStore, clock: () => new Date(), onPlanned: (count) => (planned += count) });
    const withoutCallback = (event: RecordedEvent): RecordedEvent => ({ ...event, metadata: { ...event.metadata, statusCallback: false } });

    for (const event of events) expect(await plan(relayed(withoutCallback(event)))).toEqual({ kind: 'ack' });
    expect(reads).toBe(0);
    expect(planned).toBe(0);

    // A webhook that wants sms.delivered makes the same event worth reading and planning.
    await createWebhook(database.db, { accountId, url: 'https://hooks.example.com/d', label: 'd', events: ['sms.delivered'], now: new Date(Date.now() - 60_000) });
    expect(await plan(relayed(withoutCallback(events[4] as RecordedEvent)))).toEqual({ kind: 'ack' });
    expect(reads).toBe(1);
    expect(planned).toBe(1);
  });

  it('rejects a payload that is not a relayed event', async () => {
    const bad = { ...relayed((await lifecycle(null))[0] as RecordedEvent), json: <T>() => ({ nonsense: true }) as T };
    expect(await handler()(bad)).toMatchObject({ kind: 'reject' });
  });
});
