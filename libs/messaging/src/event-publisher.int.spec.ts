import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { natsNames } from '@reach/contracts';
import { testNamespace, testUrls } from '@reach/testing';
import type { NatsConnection } from 'nats';
import { EventPublishError, publishEvent, publishEvents, type RelayedEvent } from './event-publisher';
import { deleteTopology, ensureTopology } from './jetstream-topology';
import { connectNats, drainNats } from './nats-connection';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

function relayedEvent(type: string, revision: number): RelayedEvent {
  const messageId = randomUUID();
  return {
    eventId: randomUUID(),
    type,
    streamId: `message-${messageId}`,
    revision: String(revision),
    position: `${revision + 100}/${revision + 100}`,
    data: { messageId },
    metadata: {},
    createdAt: new Date('2026-11-22T10:00:00Z').toISOString(),
  };
}

describe('publishEvent / publishEvents', () => {
  const names = natsNames(testNamespace());
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connectNats({ url: testUrls.nats, name: 'messaging-publisher-test', logger });
    await ensureTopology(nc, names);
  });

  afterAll(async () => {
    await deleteTopology(nc, names);
    await drainNats(nc);
  });

  async function countOn(subject: string): Promise<number> {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(names.eventsStream, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  it('publishes on the event type subject and stores a republish once', async () => {
    const js = nc.jetstream();
    const event = relayedEvent('MessageAccepted', 0);
    const first = await publishEvent(js, names, event);
    const second = await publishEvent(js, names, event);
    expect(first).toMatchObject({ stream: names.eventsStream, duplicate: false });
    expect(second).toMatchObject({ stream: names.eventsStream, duplicate: true, seq: first.seq });
    expect(await countOn(names.eventSubject('MessageAccepted'))).toBe(1);

    const jsm = await nc.jetstreamManager();
    const stored = await jsm.streams.getMessage(names.eventsStream, { seq: first.seq });
    expect(stored.json()).toEqual(event);
    expect(stored.header.get('Nats-Msg-Id')).toBe(event.eventId);
  });

  it('publishes a batch with all publishes in flight and acks in batch order', async () => {
    const js = nc.jetstream();
    const events = Array.from({ length: 200 }, (_, i) => relayedEvent('MessageSent', i));
    const acks = await publishEvents(js, names, events);
    expect(acks).toHaveLength(200);
    expect(acks.every((ack) => !ack.duplicate)).toBe(true);
    const again = await publishEvents(js, names, events);
    expect(again.every((ack) => ack.duplicate)).toBe(true);
    expect(again.map((ack) => ack.seq)).toEqual(acks.map((ack) => ack.seq));
    expect(await countOn(names.eventSubject('MessageSent'))).toBe(200);
  });

  it('throws after the batch settled when any publish failed, naming the failed events', async () => {
    const js = nc.jetstream();
    const good = relayedEvent('MessageDelivered', 0);
    const bad = { ...relayedEvent('MessageDelivered', 1), eventId: 'not-a-uuid' };
    const error: unknown = await publishEvents(js, names, [good, bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventPublishError);
    expect((error as EventPublishError).failedEventIds).toEqual(['not-a-uuid']);
    expect(await countOn(names.eventSubject('MessageDelivered'))).toBe(1);
  });
});
