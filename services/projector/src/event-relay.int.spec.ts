import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { JetStreamClient, NatsConnection, PubAck } from 'nats';
import { MessageEvent, messageStreamId, natsNames, type MessageCommand } from '@reach/contracts';
import { PostgresEventStore, START, formatPosition, type RecordedEvent } from '@reach/event-store';
import { decide, foldMessage } from '@reach/message-domain';
import { RelayedEvent, connectNats, drainNats, ensureTopology } from '@reach/messaging';
import { readCheckpoint, type ProjectionRunner } from '@reach/read-models';
import { createTestDatabase, eventually, testNamespace, testUrls, type TestDatabase } from '@reach/testing';
import { RELAY_CHECKPOINT, createEventRelay, toRelayedEvent } from './event-relay';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const T0 = Date.parse('2026-06-08T13:30:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

describe('event relay (store → JetStream)', () => {
  const names = natsNames(testNamespace());
  let database: TestDatabase;
  let store: PostgresEventStore;
  let nc: NatsConnection;
  const running: ProjectionRunner[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.pool, { pollIntervalMs: 5 });
    nc = await connectNats({ url: testUrls.nats, name: 'projector-relay-test', logger });
    await ensureTopology(nc, names);
  });

  afterAll(async () => {
    await Promise.all(running.map((relay) => relay.stop()));
    await store?.close();
    if (nc) {
      const jsm = await nc.jetstreamManager();
      for (const stream of [names.eventsStream, names.commandsStream, names.deadLetterStream]) {
        await jsm.streams.delete(stream).catch(() => undefined);
      }
      // The presence bucket is the KV_<bucket> stream.
      await jsm.streams.delete(`KV_${names.presenceBucket}`).catch(() => undefined);
      await drainNats(nc);
    }
    await database?.drop();
  });

  /**
   * A JetStream client that passes every publish through and keeps its ack; the first
   * `failFirst` publishes fail without reaching the server.
   */
  function recordingJetStream(failFirst = 0): { js: JetStreamClient; acks: PubAck[]; failed: () => number } {
    const inner = nc.jetstream();
    const acks: PubAck[] = [];
    let failed = 0;
    const js = new Proxy(inner, {
      get(target, property) {
        if (property === 'publish') {
          return async (...args: Parameters<JetStreamClient['publish']>) => {
            if (failed < failFirst) {
              failed += 1;
              throw new Error('simulated publish failure');
            }
            const ack = await target.publish(...args);
            acks.push(ack);
            return ack;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return { js, acks, failed: () => failed };
  }

  function startRelay(js: JetStreamClient, maxBatch = 3): ProjectionRunner {
    const relay = createEventRelay({ store, db: database.db, pool: database.pool, js, names, logger, maxBatch });
    running.push(relay);
    relay.start();
    return relay;
  }

  async function stopRelay(relay: ProjectionRunner): Promise<void> {
    await relay.stop();
    running.splice(running.indexOf(relay), 1);
  }

  async function streamMessageCount(): Promise<number> {
    const jsm = await nc.jetstreamManager();
    return (await jsm.streams.info(names.eventsStream)).state.messages;
  }

  /** The whole log in order, once it holds `count` events. */
  async function readLog(count: number): Promise<RecordedEvent[]> {
    return eventually(async () => {
      const log = await store.readAll({ after: START, maxCount: 10_000 });
      return log.length >= count ? log : undefined;
    });
  }

  async function execute(command: MessageCommand): Promise<number> {
    const streamId = messageStreamId(command.data.messageId);
    const recorded = await store.readStream(streamId);
    const events = decide(command, foldMessage(recorded.map((r) => MessageEvent.parse({ type: r.type, data: r.data }))));
    const last = recorded[recorded.length - 1];
    await store.appendToStream(
      streamId,
      events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata: { correlationId: command.data.messageId } })),
      { expectedRevision: last ? last.revision : 'no_stream' },
    );
    return events.length;
  }

  /** Accepted, queued, dispatched, sent: four events in one message stream. */
  async function sendMessage(start: number): Promise<number> {
    const messageId = randomUUID();
    const accountId = randomUUID();
    const ref = (offset: number) => ({ messageId, accountId, now: at(start + offset) });
    let count = await execute({
      type: 'AcceptMessage',
      data: {
        ...ref(0),
        from: '+14155552671',
        to: '+14155553000',
        body: 'hello',
        segments: { encoding: 'GSM-7', count: 1 },
        channel: 'simulated',
        dialect: 'reach',
        bulkId: null,
        statusCallback: null,
        maxPrice: null,
        validityPeriodSeconds: 3600,
        scheduledFor: null,
        billing: { monthlyAllowanceSegments: 10, overagePricePerSegmentUsd: 0.01 },
      },
    });
    count += await execute({ type: 'DispatchMessage', data: { ...ref(1), channel: 'simulated' } });
    count += await execute({ type: 'RecordMessageSent', data: { ...ref(2), providerMessageId: null } });
    return count;
  }

  /** Every message in the events stream, by sequence. */
  async function storedMessages(count: number) {
    const jsm = await nc.jetstreamManager();
    const stored = [];
    for (let seq = 1; seq <= count; seq++) stored.push(await jsm.streams.getMessage(names.eventsStream, { seq }));
    return stored;
  }

  it('publishes every event once, in log order, on its type subject with Nats-Msg-Id = event id; a replay from START is deduplicated', async () => {
    let appended = await sendMessage(0);
    appended += await sendMessage(10);
    await store.appendToStream(`account-${randomUUID()}`, [{ eventId: randomUUID(), type: 'AccountOpened', data: { plan: 'basic' } }], {
      expectedRevision: 'no_stream',
    });
    appended += 1;
    const log = await readLog(appended);
    expect(log).toHaveLength(9);

    const first = recordingJetStream();
    const relay = startRelay(first.js);
    await eventually(async () => ((await streamMessageCount()) >= log.length ? true : undefined));
    await eventually(async () => {
      const checkpoint = await readCheckpoint(database.db, RELAY_CHECKPOINT);
      return formatPosition(checkpoint) === formatPosition(log[log.length - 1]!.position) ? true : undefined;
    });
    await stopRelay(relay);

    expect(await streamMessageCount()).toBe(log.length);
    expect(first.acks.map((ack) => ack.duplicate)).toEqual(log.map(() => false));
    const stored = await storedMessages(log.length);
    stored.forEach((message, index) => {
      const event = log[index]!;
      expect(message.subject).toBe(names.eventSubject(event.type));
      expect(message.header.get('Nats-Msg-Id')).toBe(event.eventId);
      const payload = RelayedEvent.parse(message.json());
      expect(payload).toEqual(toRelayedEvent(event));
      expect(payload).toMatchObject({
        eventId: event.eventId,
        type: event.type,
        streamId: event.streamId,
        revision: event.revision.toString(),
        position: formatPosition(event.position),
        createdAt: event.createdAt.toISOString(),
      });
    });
    expect(stored.map((m) => m.subject)).toEqual([
      ...['MessageAccepted', 'MessageQueued', 'MessageDispatched', 'MessageSent'].map(names.eventSubject),
      ...['MessageAccepted', 'MessageQueued', 'MessageDispatched', 'MessageSent'].map(names.eventSubject),
      names.eventSubject('AccountOpened'),
    ]);

    // Lose the checkpoint: the relay starts over from START and republishes everything.
    await database.db.deleteFrom('checkpoints').where('name', '=', RELAY_CHECKPOINT).execute();
    expect(await readCheckpoint(database.db, RELAY_CHECKPOINT)).toEqual(START);
    const second = recordingJetStream();
    const replay = startRelay(second.js);
    await eventually(async () => (second.acks.length >= log.length ? true : undefined));
    await eventually(async () => {
      const checkpoint = await readCheckpoint(database.db, RELAY_CHECKPOINT);
      return formatPosition(checkpoint) === formatPosition(log[log.length - 1]!.position) ? true : undefined;
    });

    expect(second.acks.map((ack) => ack.duplicate)).toEqual(log.map(() => true));
    expect(second.acks.map((ack) => ack.seq)).toEqual(first.acks.map((ack) => ack.seq));
    expect(await streamMessageCount()).toBe(log.length);

    // Still tailing: a new event goes out once, after everything else.
    const more = await sendMessage(20);
    const grown = await readLog(log.length + more);
    await eventually(async () => ((await streamMessageCount()) >= grown.length ? true : undefined));
    await stopRelay(replay);
    expect(await streamMessageCount()).toBe(grown.length);
    expect(second.acks.slice(log.length).map((ack) => ack.duplicate)).toEqual(grown.slice(log.length).map(() => false));
    const all = await storedMessages(grown.length);
    expect(all.map((m) => m.header.get('Nats-Msg-Id'))).toEqual(grown.map((e) => e.eventId));
  });

  // The tests below start where the one above left off: the relay stopped, its checkpoint at the end of the log.

  it('a restarted relay resumes after its checkpoint and publishes nothing twice', async () => {
    const before = await readLog(1);
    expect(formatPosition(await readCheckpoint(database.db, RELAY_CHECKPOINT))).toBe(formatPosition(before[before.length - 1]!.position));
    const count = await streamMessageCount();
    expect(count).toBe(before.length);

    const added = await sendMessage(30);
    const log = await readLog(before.length + added);
    const recording = recordingJetStream();
    const relay = startRelay(recording.js);
    await eventually(async () => ((await streamMessageCount()) >= log.length ? true : undefined));
    await eventually(async () => {
      const checkpoint = await readCheckpoint(database.db, RELAY_CHECKPOINT);
      return formatPosition(checkpoint) === formatPosition(log[log.length - 1]!.position) ? true : undefined;
    });
    await stopRelay(relay);

    // Only the new events went out, each once.
    expect(recording.acks).toHaveLength(added);
    expect(recording.acks.every((ack) => !ack.duplicate)).toBe(true);
    expect(await streamMessageCount()).toBe(log.length);
  });

  it('a batch with a failed publish does not advance the checkpoint; its retry lands every event exactly once', async () => {
    const before = await readLog(1);
    const checkpointBefore = await readCheckpoint(database.db, RELAY_CHECKPOINT);
    expect(formatPosition(checkpointBefore)).toBe(formatPosition(before[before.length - 1]!.position));

    const added = await sendMessage(40);
    const log = await readLog(before.length + added);
    // Batches of 3: the first two publishes of the first batch fail, the third lands.
    const recording = recordingJetStream(2);
    const relay = startRelay(recording.js, 3);
    await eventually(async () => (recording.failed() === 2 && recording.acks.length >= 1 ? true : undefined));
    // The batch settled with a failure: its transaction rolled back, the checkpoint did not move
    // (the runner retries only after a back-off of some hundreds of milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await readCheckpoint(database.db, RELAY_CHECKPOINT)).toEqual(checkpointBefore);
    expect(await streamMessageCount()).toBe(before.length + 1);

    await eventually(async () => {
      const checkpoint = await readCheckpoint(database.db, RELAY_CHECKPOINT);
      return formatPosition(checkpoint) === formatPosition(log[log.length - 1]!.position) ? true : undefined;
    });
    await stopRelay(relay);

    expect(await streamMessageCount()).toBe(log.length);
    // The one that landed the first time was republished with the batch and deduplicated.
    expect(recording.acks.filter((ack) => ack.duplicate)).toHaveLength(1);
    expect(recording.acks.filter((ack) => !ack.duplicate)).toHaveLength(added);
    // Every event exactly once. Stream order may differ from log order here (the event that
    // landed on the failed attempt precedes the batch's retried ones): consumers order by revision.
    const stored = await storedMessages(log.length);
    const ids = stored.map((m) => m.header.get('Nats-Msg-Id'));
    expect(new Set(ids).size).toBe(log.length);
    expect([...ids].sort()).toEqual(log.map((e) => e.eventId).sort());
    expect(ids.slice(0, before.length)).toEqual(before.map((e) => e.eventId));
  });
});
