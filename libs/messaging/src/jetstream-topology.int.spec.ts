import pino from 'pino';
import { natsNames } from '@reach/contracts';
import { testNamespace, testUrls } from '@reach/testing';
import { nanos, type NatsConnection } from 'nats';
import { deleteTopology, ensureTopology } from './jetstream-topology';
import { connectNats, drainNats } from './nats-connection';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const DAY_MS = 24 * 60 * 60 * 1000;

describe('ensureTopology', () => {
  const names = natsNames(testNamespace());
  const connections: NatsConnection[] = [];
  const connectOne = async () => {
    const nc = await connectNats({ url: testUrls.nats, name: 'messaging-topology-test', logger });
    connections.push(nc);
    return nc;
  };

  afterAll(async () => {
    const [first] = connections;
    if (first) await deleteTopology(first, names);
    await Promise.all(connections.map((nc) => drainNats(nc)));
  });

  it('creates the streams and the presence bucket, and running it again changes nothing', async () => {
    const nc = await connectOne();
    await ensureTopology(nc, names);
    const jsm = await nc.jetstreamManager();
    const before = await jsm.streams.info(names.eventsStream);
    await ensureTopology(nc, names);
    const after = await jsm.streams.info(names.eventsStream);
    expect(after.created).toEqual(before.created);
    expect(after.config).toMatchObject({
      subjects: [names.allEvents],
      storage: 'file',
      retention: 'limits',
      max_age: nanos(7 * DAY_MS),
      duplicate_window: nanos(10 * 60 * 1000),
    });
    expect((await jsm.streams.info(names.commandsStream)).config).toMatchObject({
      subjects: [names.allCommands],
      duplicate_window: nanos(10 * 60 * 1000),
    });
    expect((await jsm.streams.info(names.deadLetterStream)).config).toMatchObject({
      subjects: [names.allDeadLetters],
      max_age: nanos(30 * DAY_MS),
    });
    const bucket = await nc.jetstream().views.kv(names.presenceBucket, { bindOnly: true });
    expect((await bucket.status()).history).toBe(1);
  });

  it('succeeds when several processes run it at once on a fresh namespace', async () => {
    const fresh = natsNames(testNamespace());
    const ncs = await Promise.all([connectOne(), connectOne(), connectOne(), connectOne()]);
    try {
      await Promise.all(ncs.flatMap((nc) => [ensureTopology(nc, fresh), ensureTopology(nc, fresh)]));
      const jsm = await ncs[0]!.jetstreamManager();
      expect((await jsm.streams.info(fresh.eventsStream)).config.subjects).toEqual([fresh.allEvents]);
      expect((await jsm.streams.info(fresh.deadLetterStream)).config.subjects).toEqual([fresh.allDeadLetters]);
    } finally {
      await deleteTopology(ncs[0]!, fresh);
    }
  });

  it('updates a stream whose retention changed, keeping its messages', async () => {
    const nc = await connectOne();
    await nc.jetstream().publish(names.eventSubject('Kept'), new Uint8Array([1]));
    await ensureTopology(nc, names, { eventsMaxAgeMs: 2 * DAY_MS });
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(names.eventsStream);
    expect(info.config.max_age).toBe(nanos(2 * DAY_MS));
    expect(info.state.messages).toBe(1);
  });
});
