import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NatsConnection } from 'nats';
import { messageStreamId, natsNames, type MessageEvent, type NatsNames } from '@reach/contracts';
import { connectNats, deleteTopology, drainNats, ensureTopology, publishEvents, type RelayedEvent } from '@reach/messaging';
import { eventually, testNamespace, testUrls } from '@reach/testing';
import { runSubscriber, type ReceivedEvent } from './subscriber';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const at = '2026-05-01T10:00:00.000Z';

/** One message's stream as the relay publishes it: revisions 0, 1, 2, … and growing positions. */
function messageStream() {
  const messageId = randomUUID();
  const accountId = randomUUID();
  const streamId = messageStreamId(messageId);
  let revision = 0;
  return {
    ref: { messageId, accountId },
    next(type: string, data: unknown): RelayedEvent {
      const event: RelayedEvent = {
        eventId: randomUUID(),
        type,
        streamId,
        revision: String(revision),
        position: `${nextPosition}/${nextPosition}`,
        data,
        metadata: { correlationId: messageId, command: 'Test', occurredAt: at },
        createdAt: at,
      };
      revision += 1;
      nextPosition += 1;
      return event;
    },
  };
}
let nextPosition = 1;

/** The envelope of a typed event, so fixtures are checked against the contracts at compile time. */
function relayed(stream: ReturnType<typeof messageStream>, event: MessageEvent): RelayedEvent {
  return stream.next(event.type, event.data);
}

describe('example event subscriber', () => {
  let nc: NatsConnection;
  let namespace: string;
  let names: NatsNames;
  let stopSubscriber: AbortController;
  let subscriber: Promise<void> | undefined;
  const logLines: string[] = [];

  beforeEach(async () => {
    namespace = testNamespace();
    names = natsNames(namespace);
    nc = await connectNats({ url: testUrls.nats, name: 'example-event-subscriber-test', logger });
    await ensureTopology(nc, names);
    stopSubscriber = new AbortController();
    subscriber = undefined;
    logLines.length = 0;
  });

  afterEach(async () => {
    stopSubscriber.abort();
    await subscriber;
    await deleteTopology(nc, names);
    await drainNats(nc);
  });

  function start(durable: string, onEvent: (received: ReceivedEvent) => void): void {
    subscriber = runSubscriber({
      natsUrl: testUrls.nats,
      namespace,
      durable,
      onEvent,
      signal: stopSubscriber.signal,
      log: (line) => logLines.push(line),
    });
  }

  /** Resolves once the durable has acked everything in the stream. */
  async function allAcked(durable: string): Promise<void> {
    const jsm = await nc.jetstreamManager();
    const { state } = await jsm.streams.info(names.eventsStream);
    await eventually(async () => {
      const info = await jsm.consumers.info(names.eventsStream, durable);
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq === state.last_seq ? true : undefined;
    });
  }

  it('hands over each known event once, validated and in order; skips duplicates and unknown types', async () => {
    const a = messageStream();
    const b = messageStream();
    const accepted = relayed(a, {
      type: 'MessageAccepted',
      data: {
        ...a.ref,
        from: '+14155552671',
        to: '+14155553000',
        body: 'Your code is 482910',
        segments: { encoding: 'GSM-7', count: 1 },
        channel: 'simulated',
        dialect: 'reachcell',
        bulkId: null,
        statusCallback: null,
        maxPrice: null,
        validityPeriodSeconds: 3600,
        expiresAt: '2026-05-01T11:00:00.000Z',
        scheduledFor: null,
        billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
        price: null,
        acceptedAt: at,
      },
    });
    const queued = relayed(a, { type: 'MessageQueued', data: { ...a.ref, from: '+14155552671', queuedAt: at } });
    const received = relayed(b, {
      type: 'MessageReceived',
      data: { ...b.ref, from: '+14155553000', to: '+14155552671', body: 'Thanks', segments: { encoding: 'GSM-7', count: 1 }, channel: 'simulated', receivedAt: at },
    });
    // A type from a newer publisher, with a field this version does not know.
    const unknownType = a.next('MessageRerouted', { ...a.ref, reroutedAt: at });
    const dispatched = relayed(a, { type: 'MessageDispatched', data: { ...a.ref, channel: 'simulated', dispatchedAt: at } });
    // A known type with a field added within v1: accepted, and the field is dropped.
    const sent = a.next('MessageSent', { ...a.ref, sentAt: at, providerMessageId: 'p-1', carrier: 'added later' });
    // Invalid data (deliveredAt missing): never handed over.
    const invalid = a.next('MessageDelivered', { ...a.ref, dlrDate: null });

    const js = nc.jetstream();
    const acks = await publishEvents(js, names, [accepted, queued, received, unknownType, dispatched, queued, sent, invalid]);
    expect(acks.map((ack) => ack.duplicate)).toEqual([false, false, false, false, false, true, false, false]);
    // A republish after the duplicate window reaches the stream again (simulated: no Nats-Msg-Id).
    await js.publish(names.eventSubject(dispatched.type), new TextEncoder().encode(JSON.stringify(dispatched)));

    const handled: ReceivedEvent[] = [];
    const durable = names.consumerName('example', 'all-events');
    start(durable, (event) => {
      handled.push(event);
    });
    await allAcked(durable);

    const expected = [accepted, queued, received, dispatched, sent];
    expect(handled.map((event) => event.eventId)).toEqual(expected.map((event) => event.eventId));
    expect(handled.map((event) => [event.streamId, event.revision])).toEqual(expected.map((event) => [event.streamId, BigInt(event.revision)]));
    expect(handled.map((event) => event.event)).toEqual([
      { type: 'MessageAccepted', data: accepted.data },
      { type: 'MessageQueued', data: queued.data },
      { type: 'MessageReceived', data: received.data },
      { type: 'MessageDispatched', data: dispatched.data },
      { type: 'MessageSent', data: { ...a.ref, sentAt: at, providerMessageId: 'p-1' } },
    ]);
    expect(logLines).toEqual(
      expect.arrayContaining([
        `skipped MessageRerouted ${unknownType.eventId}: unknown event type`,
        `skipped MessageDispatched ${dispatched.eventId}: already handled`,
        expect.stringMatching(new RegExp(`^terminated .*MessageDelivered ${invalid.eventId} does not match its schema`)),
      ]),
    );
  });

  it('naks an event whose handler threw and hands it over again before the next one', async () => {
    const a = messageStream();
    const queued = relayed(a, { type: 'MessageQueued', data: { ...a.ref, from: '+14155552671', queuedAt: at } });
    const dispatched = relayed(a, { type: 'MessageDispatched', data: { ...a.ref, channel: 'device', dispatchedAt: at } });
    const sent = relayed(a, { type: 'MessageSent', data: { ...a.ref, sentAt: at, providerMessageId: null } });
    await publishEvents(nc.jetstream(), names, [queued, dispatched, sent]);

    const calls: string[] = [];
    const handled: string[] = [];
    const durable = names.consumerName('example', 'retries');
    start(durable, ({ event, eventId }) => {
      calls.push(event.type);
      if (event.type === 'MessageDispatched' && calls.filter((type) => type === 'MessageDispatched').length === 1) {
        throw new Error('database not reachable');
      }
      handled.push(eventId);
    });
    await allAcked(durable);

    expect(calls).toEqual(['MessageQueued', 'MessageDispatched', 'MessageDispatched', 'MessageSent']);
    expect(handled).toEqual([queued.eventId, dispatched.eventId, sent.eventId]);
    expect(logLines).toContainEqual(
      `retrying MessageDispatched ${dispatched.eventId} in 1000 ms (attempt 1 failed: database not reachable)`,
    );
  });
});
