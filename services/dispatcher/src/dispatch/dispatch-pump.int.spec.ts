import { randomBytes, randomUUID } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { sql } from 'kysely';
import pino from 'pino';
import { messageStreamId, type ChannelKind, type MessageEventType } from '@reach/contracts';
import { PostgresEventStore, START, comparePositions, formatPosition, type EventStore, type RecordedEvent } from '@reach/event-store';
import { executeMessageCommand, readMessageState, type KnownStreamState } from '@reach/infrastructure';
import { consumedMessageContext, type ConsumedMessage, type RelayedEvent } from '@reach/messaging';
import { projectMessages } from '@reach/read-models';
import { SpanKind, contextFromTraceparent, inSpan, runWithLogFields } from '@reach/telemetry';
import { createTestDatabase, eventually, type TestDatabase } from '@reach/testing';
import type { ChannelHooks, ChannelSend, OutboundChannel } from '../channels/outbound-channel';
import { SimulatedChannel, type SimulatedSend } from '../simulated-channel/simulated-phone';
import { ChannelReportRefusedError, DispatchPump, inboundMessageId, type DispatchOutcome, type PumpDependencies } from './dispatch-pump';
import { enqueue, type QueuedMessage } from './dispatch-queue.repository';
import { createQueuedMessageHandler } from './queued-messages.consumer';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

const T0 = Date.parse('2026-06-08T13:30:00.000Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
/** The pump's clock: a little after every message below was accepted. */
const PUMP_NOW = at(300);

const SENDER = '+14155552671';
const OTHER_SENDER = '+14155559999';

const ACCEPTED_AND_QUEUED: MessageEventType[] = ['MessageAccepted', 'MessageQueued'];
const DISPATCHED: MessageEventType[] = [...ACCEPTED_AND_QUEUED, 'MessageDispatched'];
const DELIVERED: MessageEventType[] = [...DISPATCHED, 'MessageSent', 'MessageDelivered'];

/** The simulated channel's kind: records what the pump hands it, and may pass it on to a real one. */
class RecordingChannel implements OutboundChannel {
  readonly sends: SimulatedSend[] = [];
  readonly receipts: string[] = [];
  /** Runs synchronously inside the pump's hand-over, after the send is recorded. */
  onSend: ((message: SimulatedSend) => void) | null = null;
  /** Present when the channel makes receipts itself (like the simulated phone); absent like a phone's or an SMSC's. */
  readonly awaitReceipt?: (messageId: string) => void;

  hooks: ChannelHooks | null = null;

  constructor(
    private readonly isOnline: (e164: string) => boolean,
    private readonly inner: SimulatedChannel | null = null,
    readonly kind: ChannelKind = 'simulated',
    options: { readonly makesReceipts: boolean } = { makesReceipts: true },
  ) {
    if (options.makesReceipts) {
      this.awaitReceipt = (messageId) => {
        this.receipts.push(messageId);
        this.inner?.awaitReceipt(messageId);
      };
    }
  }

  async start(hooks: ChannelHooks): Promise<void> {
    this.hooks = hooks;
    await this.inner?.start(hooks);
  }

  isReady(sender: string): boolean {
    return this.isOnline(sender);
  }

  send(message: ChannelSend): void {
    this.sends.push(message);
    this.onSend?.(message);
    this.inner?.send(message);
  }

  async stop(): Promise<void> {
    await this.inner?.stop();
  }

  get sentIds(): string[] {
    return this.sends.map((s) => s.messageId);
  }
}

/**
 * The event store with its calls counted, the next `failAppends` appends failing as a lost
 * connection would, and each stream read waiting for `beforeRead` first.
 */
function instrument(target: PostgresEventStore, failAppends = 0, beforeRead?: (streamId: string) => Promise<void>) {
  const counts = { appends: 0, reads: 0, failAppends };
  const store = new Proxy(target, {
    get(t, property) {
      if (property === 'appendToStream') {
        return (...args: Parameters<EventStore['appendToStream']>) => {
          counts.appends += 1;
          if (counts.failAppends > 0) {
            counts.failAppends -= 1;
            return Promise.reject(new Error('connection reset (simulated)'));
          }
          return t.appendToStream(...args);
        };
      }
      if (property === 'readStream') {
        return async (...args: Parameters<EventStore['readStream']>) => {
          counts.reads += 1;
          await beforeRead?.(args[0]);
          return t.readStream(...args);
        };
      }
      const value: unknown = Reflect.get(t, property, t);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
  return { store: store as EventStore, counts };
}

/** What the pump hands a channel for a message. */
const handedOver = (m: QueuedMessage, options: { resumed?: boolean } = {}): ChannelSend => ({
  messageId: m.messageId,
  accountId: m.accountId,
  from: m.from,
  to: m.to,
  body: m.body,
  segmentCount: m.segmentCount,
  expiresAt: m.expiresAt,
  ...(options.resumed ? { resumed: true } : {}),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fails (instead of hanging until the test's timeout) when `promise` does not settle within `ms`. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('DispatchPump', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  const online = new Set<string>();
  const isOnline = (e164: string): boolean => online.has(e164);
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.pool, { pollIntervalMs: 5 });
    online.clear();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await store.close();
    await database.drop();
  });

  interface PumpOptions {
    readonly clock?: () => Date;
    readonly store?: EventStore;
    readonly retryDelayMs?: number;
    readonly resumeAfterMs?: number;
    readonly resumePageSize?: number;
  }

  function newPump(channel: RecordingChannel, options: PumpOptions = {}) {
    const outcomes: DispatchOutcome[] = [];
    const deps: PumpDependencies = {
      db: database.db,
      store: options.store ?? store,
      logger,
      clock: options.clock ?? (() => PUMP_NOW),
      onOutcome: (outcome) => outcomes.push(outcome),
      ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
      ...(options.resumeAfterMs === undefined ? {} : { resumeAfterMs: options.resumeAfterMs }),
      ...(options.resumePageSize === undefined ? {} : { resumePageSize: options.resumePageSize }),
    };
    const pump = new DispatchPump(deps);
    pump.attach(channel);
    void pump.startChannels();
    cleanups.push(async () => {
      await pump.deactivate();
      await channel.stop();
    });
    const handler = createQueuedMessageHandler({ store: deps.store, pump });
    /** Admits `m` the way production does: its relayed MessageQueued, through the consumer's handler. */
    const admit = async (m: QueuedMessage): Promise<void> => {
      expect(await handler(await queuedDelivery(m))).toEqual({ kind: 'ack' });
    };
    return { pump, outcomes, admit, handler };
  }

  /** Accepts a message through the decider (accepted + queued at once, so released at `acceptedAt`). */
  async function acceptMessage(options: { from?: string; acceptedAt: Date; validitySeconds?: number; channel?: ChannelKind }): Promise<QueuedMessage> {
    const messageId = randomUUID();
    const accountId = randomUUID();
    const from = options.from ?? SENDER;
    const body = `hello ${messageId.slice(0, 4)}`;
    const outcome = await executeMessageCommand(store, {
      type: 'AcceptMessage',
      data: {
        messageId,
        accountId,
        now: options.acceptedAt.toISOString(),
        from,
        to: '+14155553000',
        body,
        segments: { encoding: 'GSM-7', count: 1 },
        channel: options.channel ?? 'simulated',
        dialect: 'reach',
        bulkId: null,
        statusCallback: null,
        maxPrice: null,
        validityPeriodSeconds: options.validitySeconds ?? 3600,
        scheduledFor: null,
        billing: { monthlyAllowanceSegments: 100, overagePricePerSegmentUsd: 0.01 },
      },
    });
    expect(outcome.state.status).toBe('queued');
    return {
      messageId,
      accountId,
      channel: options.channel ?? 'simulated',
      from,
      to: '+14155553000',
      body,
      segmentCount: 1,
      queuedAt: options.acceptedAt,
      expiresAt: new Date(options.acceptedAt.getTime() + (options.validitySeconds ?? 3600) * 1000),
    };
  }

  /** The message's MessageQueued as the relay publishes it and the queued consumer receives it. */
  async function queuedDelivery(m: QueuedMessage): Promise<ConsumedMessage> {
    const queued = (await streamOf(m.messageId)).find((e) => e.type === 'MessageQueued');
    if (!queued) throw new Error(`message ${m.messageId} was never queued`);
    const relayed: RelayedEvent = {
      eventId: queued.eventId,
      type: queued.type,
      streamId: queued.streamId,
      revision: queued.revision.toString(),
      position: formatPosition(queued.position),
      data: queued.data,
      metadata: { ...queued.metadata },
      createdAt: queued.createdAt.toISOString(),
    };
    const text = JSON.stringify(relayed);
    return {
      subject: 'events.MessageQueued',
      data: new TextEncoder().encode(text),
      headers: undefined,
      deliveryCount: 1,
      streamSequence: 1,
      json: <T>() => JSON.parse(text) as T,
      working: () => undefined,
    };
  }

  /** What the queued consumer's `load` returns, from the stream as it is now. */
  async function loadOf(m: QueuedMessage): Promise<{ message: QueuedMessage; known: KnownStreamState }> {
    return { message: m, known: await readMessageState(store, messageStreamId(m.messageId)) };
  }

  async function streamOf(messageId: string): Promise<RecordedEvent[]> {
    return store.readStream(messageStreamId(messageId));
  }

  async function typesOf(messageId: string): Promise<MessageEventType[]> {
    return (await streamOf(messageId)).map((e) => e.type as MessageEventType);
  }

  async function waitForTypes(messageId: string, last: MessageEventType): Promise<RecordedEvent[]> {
    return eventually(async () => {
      const events = await streamOf(messageId);
      return events[events.length - 1]?.type === last ? events : undefined;
    });
  }

  /**
   * Every event in the log. `readAll` shows only transactions older than every one still open in
   * the Postgres cluster (other suites may share it), so wait until it shows all that committed.
   */
  async function wholeLog(): Promise<RecordedEvent[]> {
    return eventually(async () => {
      const all = await store.readAll({ after: START, maxCount: 10_000 });
      const { count } = await database.db.selectFrom('events').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
      return all.length === Number(count) ? all : undefined;
    });
  }

  /** Ids of the messages dispatched, in the order their MessageDispatched events entered the log. */
  async function dispatchedInLogOrder(): Promise<string[]> {
    const all = await wholeLog();
    return all
      .filter((e) => e.type === 'MessageDispatched')
      .sort((a, b) => comparePositions(a.position, b.position))
      .map((e) => (e.data as { messageId: string }).messageId);
  }

  async function queueIds(): Promise<string[]> {
    const rows = await database.db.selectFrom('dispatch_queue').select('message_id').orderBy('seq').execute();
    return rows.map((r) => r.message_id);
  }

  /**
   * Inserts ever tried on dispatch_queue (kept or not): its identity sequence advances on every
   * insert, also one that conflicted or whose row was removed since.
   */
  async function queueWrites(): Promise<number> {
    const { rows } = await sql<{ last: string | null }>`
      select pg_sequence_last_value(pg_get_serial_sequence('dispatch_queue', 'seq')) as last`.execute(database.db);
    return Number(rows[0]?.last ?? 0);
  }

  /** Runs the messages projection over the whole log, as the projector would have by now. */
  async function projectReadModel(): Promise<void> {
    const events = await wholeLog();
    await database.db.transaction().execute((trx) => projectMessages(trx, events));
  }

  const ids = (...messages: QueuedMessage[]) => messages.map((m) => m.messageId);

  describe('admission', () => {
    it('dispatches at once, with one append and no dispatch_queue write, when the phone is online and the sender has no backlog', async () => {
      const m = await acceptMessage({ acceptedAt: at(0) });
      online.add(SENDER);
      const { store: counted, counts } = instrument(store);
      const channel = new RecordingChannel(isOnline);
      const { pump, outcomes, admit } = newPump(channel, { store: counted });
      await pump.activate();
      const before = { ...counts };

      await admit(m);

      // Done when the admission returns: nothing is left for a later pass.
      expect(channel.sends).toEqual([handedOver(m)]);
      const events = await streamOf(m.messageId);
      expect(events.map((e) => e.type)).toEqual(DISPATCHED);
      expect(events[2]!.data).toMatchObject({ channel: 'simulated', dispatchedAt: PUMP_NOW.toISOString() });
      // One append; one read (the consumer's, whose state the pump reuses for the append).
      expect(counts.appends - before.appends).toBe(1);
      expect(counts.reads - before.reads).toBe(1);
      expect(await queueWrites()).toBe(0);
      expect(outcomes).toEqual(['dispatched']);

      // A redelivered MessageQueued dispatches nothing a second time.
      await admit(m);
      expect(await typesOf(m.messageId)).toEqual(DISPATCHED);
      expect(outcomes).toEqual(['dispatched']);
      expect(await queueWrites()).toBe(0);
    });

    it('keeps an offline sender’s messages in dispatch_queue, then sends them in order, and a new admission after them', async () => {
      const channel = new RecordingChannel(isOnline);
      const { pump, outcomes, admit, handler } = newPump(channel);
      await pump.activate();
      const m0 = await acceptMessage({ acceptedAt: at(0) });
      const m1 = await acceptMessage({ acceptedAt: at(1) });
      const m2 = await acceptMessage({ acceptedAt: at(2) });
      const m3 = await acceptMessage({ acceptedAt: at(3) });
      const m4 = await acceptMessage({ acceptedAt: at(4) });

      for (const m of [m0, m1, m2]) await admit(m);
      expect(await queueIds()).toEqual(ids(m0, m1, m2));
      expect(channel.sends).toEqual([]);
      for (const m of [m0, m1, m2]) expect(await typesOf(m.messageId)).toEqual(ACCEPTED_AND_QUEUED);
      expect(outcomes).toEqual([]);

      // The phone comes back; a new message arrives before the backlog pass has sent anything.
      const m3Delivery = await queuedDelivery(m3);
      online.add(SENDER);
      pump.wake(SENDER);
      expect(await handler(m3Delivery)).toEqual({ kind: 'ack' });
      await eventually(async () => (channel.sends.length === 4 ? true : undefined));
      expect(channel.sentIds).toEqual(ids(m0, m1, m2, m3));
      expect(await dispatchedInLogOrder()).toEqual(ids(m0, m1, m2, m3));
      expect(outcomes).toEqual(['dispatched', 'dispatched', 'dispatched', 'dispatched']);
      // Rows go once their message is dispatched, not when it finishes.
      await eventually(async () => ((await queueIds()).length === 0 ? true : undefined));
      for (const m of [m0, m1, m2, m3]) expect(await typesOf(m.messageId)).toEqual(DISPATCHED);

      // The backlog is gone: the next message takes the hot path again, and a wake sends nothing twice.
      const writes = await queueWrites();
      await admit(m4);
      expect(channel.sentIds).toEqual(ids(m0, m1, m2, m3, m4));
      expect(await queueWrites()).toBe(writes);
      pump.wake(SENDER);
      await sleep(100);
      expect(channel.sends).toHaveLength(5);
      expect(await dispatchedInLogOrder()).toEqual(ids(m0, m1, m2, m3, m4));
    });

    it('puts a message admitted before the presence wake behind the backlog, and starts the pass itself', async () => {
      const channel = new RecordingChannel(isOnline);
      const { pump, admit } = newPump(channel);
      await pump.activate();
      const m0 = await acceptMessage({ acceptedAt: at(0) });
      const m1 = await acceptMessage({ acceptedAt: at(1) });
      const m2 = await acceptMessage({ acceptedAt: at(2) });
      for (const m of [m0, m1]) await admit(m);

      online.add(SENDER); // and no wake(): only the admission notices
      await admit(m2);

      await eventually(async () => (channel.sends.length === 3 ? true : undefined));
      expect(channel.sentIds).toEqual(ids(m0, m1, m2));
      expect(await dispatchedInLogOrder()).toEqual(ids(m0, m1, m2));
      expect(await queueWrites()).toBe(3);
      await eventually(async () => ((await queueIds()).length === 0 ? true : undefined));
    });

    it('admits one sender’s messages in call order even when an earlier load is slower, without holding up other senders', async () => {
      online.add(SENDER);
      online.add(OTHER_SENDER);
      const channel = new RecordingChannel(isOnline);
      const { pump } = newPump(channel);
      await pump.activate();
      const m0 = await acceptMessage({ acceptedAt: at(0) });
      const m1 = await acceptMessage({ acceptedAt: at(1) });
      const other = await acceptMessage({ from: OTHER_SENDER, acceptedAt: at(2) });

      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const first = pump.admit(SENDER, async () => {
        await gate;
        return loadOf(m0);
      });
      const second = pump.admit(SENDER, () => loadOf(m1));
      await within(2_000, pump.admit(OTHER_SENDER, () => loadOf(other)));
      expect(channel.sentIds).toEqual(ids(other));

      release();
      await within(2_000, Promise.all([first, second]));
      expect(channel.sentIds).toEqual(ids(other, m0, m1));
      expect(await dispatchedInLogOrder()).toEqual(ids(other, m0, m1));
      expect(await queueWrites()).toBe(0);
    });

    it('stops a pass when the phone goes offline, and keeps the rest as a backlog that later admissions do not overtake', async () => {
      const channel = new RecordingChannel(isOnline);
      const { pump, admit } = newPump(channel);
      await pump.activate();
      const [m0, m1, m2, m3] = [
        await acceptMessage({ acceptedAt: at(0) }),
        await acceptMessage({ acceptedAt: at(1) }),
        await acceptMessage({ acceptedAt: at(2) }),
        await acceptMessage({ acceptedAt: at(3) }),
      ] as const;
      for (const m of [m0, m1, m2]) await admit(m);

      channel.onSend = () => online.delete(SENDER); // the phone drops right after taking one message
      online.add(SENDER);
      pump.wake(SENDER);
      await eventually(async () => (channel.sends.length === 1 ? true : undefined));
      await eventually(async () => ((await queueIds()).length === 2 ? true : undefined));
      await sleep(100);
      expect(channel.sentIds).toEqual(ids(m0));
      expect(await queueIds()).toEqual(ids(m1, m2));
      for (const m of [m1, m2]) expect(await typesOf(m.messageId)).toEqual(ACCEPTED_AND_QUEUED);

      // Still a backlog: a message admitted once the phone is back (before any wake) goes behind it.
      channel.onSend = null;
      online.add(SENDER);
      await admit(m3);
      await eventually(async () => (channel.sends.length === 4 ? true : undefined));
      expect(channel.sentIds).toEqual(ids(m0, m1, m2, m3));
      expect(await dispatchedInLogOrder()).toEqual(ids(m0, m1, m2, m3));
      expect(await queueWrites()).toBe(4);
      await eventually(async () => ((await queueIds()).length === 0 ? true : undefined));
    });

    it('rejects the admission when the hot-path dispatch fails, so the delivery is retried, and writes no row', async () => {
      const m = await acceptMessage({ acceptedAt: at(0) });
      online.add(SENDER);
      const { store: flaky, counts } = instrument(store, 1);
      const channel = new RecordingChannel(isOnline);
      const { pump, admit } = newPump(channel, { store: flaky });
      await pump.activate();

      await expect(admit(m)).rejects.toThrow('connection reset (simulated)');
      expect(channel.sends).toEqual([]);
      expect(await typesOf(m.messageId)).toEqual(ACCEPTED_AND_QUEUED);
      expect(await queueWrites()).toBe(0);

      // The consumer's redelivery.
      await admit(m);
      expect(counts.failAppends).toBe(0);
      expect(channel.sentIds).toEqual(ids(m));
      expect(await typesOf(m.messageId)).toEqual(DISPATCHED);
    });
  });

  describe('backlog left in dispatch_queue', () => {
    it('is picked up by activate() and sent in release order once the phone is online; other senders wait for their own phone', async () => {
      const m0 = await acceptMessage({ acceptedAt: at(0) });
      const m1 = await acceptMessage({ acceptedAt: at(1) });
      const m2 = await acceptMessage({ acceptedAt: at(1) });
      const elsewhere = await acceptMessage({ from: OTHER_SENDER, acceptedAt: at(0) });
      // Inserted out of order: release time first, then insertion order (seq) among equal times.
      for (const m of [m2, m1, m0, elsewhere]) await enqueue(database.db, m);
      await enqueue(database.db, m1); // a repeated insert: no second row
      expect(await queueIds()).toHaveLength(4);

      const channel = new RecordingChannel(isOnline);
      const { pump, outcomes } = newPump(channel);
      await pump.activate();
      await sleep(150);
      expect(channel.sends).toEqual([]);
      for (const m of [m0, m1, m2]) expect(await typesOf(m.messageId)).toEqual(ACCEPTED_AND_QUEUED);

      online.add(SENDER);
      pump.wake(SENDER);
      await eventually(async () => (channel.sends.length === 3 ? true : undefined));
      const expected = [m0, m2, m1];
      expect(channel.sends).toEqual(expected.map((m) => (handedOver(m))));
      expect(await dispatchedInLogOrder()).toEqual(ids(...expected));
      for (const m of expected) {
        const dispatched = (await streamOf(m.messageId)).filter((e) => e.type === 'MessageDispatched');
        expect(dispatched).toHaveLength(1);
        expect(dispatched[0]!.data).toMatchObject({ channel: 'simulated', dispatchedAt: PUMP_NOW.toISOString() });
      }
      expect(outcomes).toEqual(['dispatched', 'dispatched', 'dispatched']);

      // The online sender's rows are gone; the offline sender's message was not touched.
      await eventually(async () => ((await queueIds()).length === 1 ? true : undefined));
      expect(await queueIds()).toEqual(ids(elsewhere));
      expect(await typesOf(elsewhere.messageId)).toEqual(ACCEPTED_AND_QUEUED);

      // Waking again hands nothing over twice.
      pump.wake(SENDER);
      await sleep(100);
      expect(channel.sends).toHaveLength(3);
    });
  });

  describe('channel reports', () => {
    it('records sent, delivered, undelivered and failed as events, once each', async () => {
      const delivered = await acceptMessage({ acceptedAt: at(0) });
      const undelivered = await acceptMessage({ acceptedAt: at(1) });
      const failed = await acceptMessage({ acceptedAt: at(2) });
      online.add(SENDER);
      const channel = new RecordingChannel(isOnline);
      const { pump, outcomes, admit } = newPump(channel);
      await pump.activate();
      for (const m of [delivered, undelivered, failed]) await admit(m);
      expect(channel.sentIds).toEqual(ids(delivered, undelivered, failed));

      pump.sent(delivered.messageId, 'prov-1');
      const afterSent = await waitForTypes(delivered.messageId, 'MessageSent');
      expect(afterSent[afterSent.length - 1]!.data).toMatchObject({ providerMessageId: 'prov-1', sentAt: PUMP_NOW.toISOString() });

      pump.delivered(delivered.messageId, '2606081335');
      const afterDelivered = await waitForTypes(delivered.messageId, 'MessageDelivered');
      expect(afterDelivered[afterDelivered.length - 1]!.data).toMatchObject({ dlrDate: '2606081335' });

      // A receipt without a separate "sent" report records the send first.
      pump.undelivered(undelivered.messageId, 30005, 'unreachable', '2606081336');
      const afterUndelivered = await waitForTypes(undelivered.messageId, 'MessageUndelivered');
      expect(afterUndelivered.map((e) => e.type)).toEqual([...DISPATCHED, 'MessageSent', 'MessageUndelivered']);
      expect(afterUndelivered[4]!.data).toMatchObject({ errorCode: 30005, reason: 'unreachable' });

      pump.failed(failed.messageId, 30008, 'radio error');
      const afterFailed = await waitForTypes(failed.messageId, 'MessageFailed');
      expect(afterFailed.map((e) => e.type)).toEqual([...DISPATCHED, 'MessageFailed']);
      expect(afterFailed[3]!.data).toMatchObject({ errorCode: 30008, reason: 'radio error' });

      // A repeated report of a finished message adds nothing; deactivate() waits for it.
      pump.delivered(delivered.messageId, '2606081399');
      pump.sent(delivered.messageId, 'prov-2');
      await pump.deactivate();
      expect(await typesOf(delivered.messageId)).toEqual(DELIVERED);
      // One outcome per report that changed something (the implied send of the bare receipt is not counted).
      expect([...outcomes].sort()).toEqual(['delivered', 'dispatched', 'dispatched', 'dispatched', 'failed', 'sent', 'undelivered'].sort());
      expect(await queueWrites()).toBe(0);
    });

    it('takes a message to delivered through a real SimulatedChannel with no latency', async () => {
      const m = await acceptMessage({ acceptedAt: at(0) });
      online.add(SENDER);
      const outcomes: DispatchOutcome[] = [];
      const pump = new DispatchPump({
        db: database.db,
        store,
        logger,
        clock: () => PUMP_NOW,
        onOutcome: (o) => outcomes.push(o),
      });
      const channel = new SimulatedChannel(
        { sendLatencyMs: 0, deliveryLatencyMs: 0, failureRate: 0, undeliveredRate: 0 },
        isOnline,
        () => 0.5,
        undefined,
        () => PUMP_NOW,
      );
      pump.attach(channel);
      void pump.startChannels();
      cleanups.push(async () => {
        await pump.deactivate();
        await channel.stop();
      });
      await pump.activate();
      expect(await createQueuedMessageHandler({ store, pump })(await queuedDelivery(m))).toEqual({ kind: 'ack' });

      const events = await waitForTypes(m.messageId, 'MessageDelivered');
      expect(events.map((e) => e.type)).toEqual(DELIVERED);
      expect(events[4]!.data).toMatchObject({ dlrDate: '2606081335' });
      expect(events[3]!.data).toMatchObject({ providerMessageId: `sim-${m.messageId.slice(0, 8)}` });
      expect(outcomes).toEqual(['dispatched', 'sent', 'delivered']);
      expect(channel.inFlight).toBe(0);
      expect(await queueWrites()).toBe(0);
    });
  });

  describe('expiry', () => {
    it('expires instead of dispatching a message past its deadline, on the hot path and from the backlog', async () => {
      const staleNow = await acceptMessage({ acceptedAt: at(0), validitySeconds: 60 });
      const staleQueued = await acceptMessage({ acceptedAt: at(1), validitySeconds: 60 });
      const fresh = await acceptMessage({ acceptedAt: at(10), validitySeconds: 3600 });
      const channel = new RecordingChannel(isOnline);
      const { pump, outcomes, admit } = newPump(channel);
      await pump.activate();

      online.add(SENDER);
      await admit(staleNow);
      expect(channel.sends).toEqual([]);
      expect(await queueWrites()).toBe(0);

      online.delete(SENDER);
      for (const m of [staleQueued, fresh]) await admit(m);
      expect(await queueIds()).toEqual(ids(staleQueued, fresh));
      online.add(SENDER);
      pump.wake(SENDER);
      await eventually(async () => (channel.sends.length === 1 ? true : undefined));
      expect(channel.sentIds).toEqual(ids(fresh));
      await eventually(async () => ((await queueIds()).length === 0 ? true : undefined));

      for (const stale of [staleNow, staleQueued]) {
        const events = await streamOf(stale.messageId);
        // Exactly one of dispatched/expired: expired.
        expect(events.map((e) => e.type)).toEqual([...ACCEPTED_AND_QUEUED, 'MessageExpired']);
        expect(events[2]!.data).toMatchObject({ errorCode: 30001, expiredAt: PUMP_NOW.toISOString() });
      }
      expect(await typesOf(fresh.messageId)).toEqual(DISPATCHED);
      expect(await dispatchedInLogOrder()).toEqual(ids(fresh));
      expect([...outcomes].sort()).toEqual(['dispatched', 'expired', 'expired']);
    });

    it('expires at exactly the deadline', async () => {
      const m = await acceptMessage({ acceptedAt: at(0), validitySeconds: 60 });
      online.add(SENDER);
      const channel = new RecordingChannel(isOnline);
      const { pump, outcomes, admit } = newPump(channel, { clock: () => at(60) });
      await pump.activate();
      await admit(m);
      expect(await typesOf(m.messageId)).toEqual([...ACCEPTED_AND_QUEUED, 'MessageExpired']);
      expect(channel.sends).toEqual([]);
      expect(outcomes).toEqual(['expired']);
    });

    it('does not dispatch a message the scheduler expired after the admission read its state', async () => {
      const m = await acceptMessage({ acceptedAt: at(0), validitySeconds: 60 });
      online.add(SENDER);
      const channel = new RecordingChannel(isOnline);
      // Before the deadline by the pump's clock: on the state it was handed, it would dispatch.
      const { pump, outcomes } = newPump(channel, { clock: () => at(30) });
      await pump.activate();

      await pump.admit(SENDER, async () => {
        const loaded = await loadOf(m);
        await executeMessageCommand(store, {
          type: 'ExpireMessage',
          data: { messageId: m.messageId, accountId: m.accountId, now: at(60).toISOString() },
        });
        return loaded; // now stale: still queued
      });

      // The dispatch's expected revision lost to the expiry: no MessageDispatched after it.
      expect(await typesOf(m.messageId)).toEqual([...ACCEPTED_AND_QUEUED, 'MessageExpired']);
      expect(channel.sends).toEqual([]);
      // Expired by the scheduler, not by the pump: it counts no outcome.
      expect(outcomes).toEqual([]);
    });
  });

  describe('resuming unfinished messages (activate and the sweep)', () => {
    /** Pump A hands `m` to its channel and stops; optionally the phone reported "sent" first. */
    async function dispatchedByAnEarlierProcess(options: { sent?: boolean } = {}): Promise<QueuedMessage> {
      const m = await acceptMessage({ acceptedAt: at(0) });
      online.add(SENDER);
      const channelA = new RecordingChannel(isOnline);
      const a = newPump(channelA);
      await a.pump.activate();
      await a.admit(m);
      expect(channelA.sentIds).toEqual(ids(m));
      if (options.sent) {
        a.pump.sent(m.messageId, 'prov-a');
        await waitForTypes(m.messageId, 'MessageSent');
      }
      await a.pump.deactivate(); // stopped before the phone reported anything (more)
      return m;
    }

    it('re-hands a dispatched message to the channel of a new pump once, with no second MessageDispatched', async () => {
      const m = await dispatchedByAnEarlierProcess();
      expect(await typesOf(m.messageId)).toEqual(DISPATCHED);
      await projectReadModel();

      const channelB = new RecordingChannel(isOnline);
      const b = newPump(channelB, { clock: () => at(301) });
      await b.pump.activate();
      // Marked resumed: the channel's far end may hold it from the earlier process.
      expect(channelB.sends).toEqual([handedOver(m, { resumed: true })]);
      expect(channelB.receipts).toEqual([]);
      expect(await typesOf(m.messageId)).toEqual(DISPATCHED);

      // The read model still shows it unfinished, but B now holds it: a sweep leaves it alone.
      expect(await b.pump.resumeUnfinished(0)).toBe(0);
      expect(channelB.sends).toHaveLength(1);

      b.pump.sent(m.messageId, 'prov-b');
      b.pump.delivered(m.messageId, '2606081340');
      const events = await waitForTypes(m.messageId, 'MessageDelivered');
      expect(events.map((e) => e.type)).toEqual(DELIVERED);
      expect(events[3]!.data).toMatchObject({ providerMessageId: 'prov-b', sentAt: at(301).toISOString() });
      // Resumed, not dispatched again: B counts no dispatch of its own.
      expect(b.outcomes).toEqual(['sent', 'delivered']);
      expect(await queueWrites()).toBe(0);
    });

    it('takes a resumed message to delivered through a real SimulatedChannel', async () => {
      const m = await dispatchedByAnEarlierProcess();
      await projectReadModel();

      const outcomesB: DispatchOutcome[] = [];
      const pumpB = new DispatchPump({
        db: database.db,
        store,
        logger,
        clock: () => at(301),
        onOutcome: (o) => outcomesB.push(o),
      });
      const channelB = new RecordingChannel(
        isOnline,
        new SimulatedChannel({ sendLatencyMs: 0, deliveryLatencyMs: 0, failureRate: 0, undeliveredRate: 0 }, isOnline, () => 0.5),
      );
      pumpB.attach(channelB);
      void pumpB.startChannels();
      cleanups.push(async () => {
        await pumpB.deactivate();
        channelB.stop();
      });
      await pumpB.activate();

      const events = await waitForTypes(m.messageId, 'MessageDelivered');
      expect(channelB.sentIds).toEqual(ids(m));
      expect(events.map((e) => e.type)).toEqual(DELIVERED);
      expect(outcomesB).toEqual(['sent', 'delivered']);
      // The read model is behind (still "dispatched"), but the stream says finished: nothing to resume.
      expect(await pumpB.resumeUnfinished(0)).toBe(0);
      expect(channelB.sends).toHaveLength(1);
    });

    it('only awaits the receipt of a message that was already sent', async () => {
      const m = await dispatchedByAnEarlierProcess({ sent: true });
      await projectReadModel();

      const channelB = new RecordingChannel(isOnline);
      const b = newPump(channelB, { clock: () => at(400) });
      await b.pump.activate();
      expect(channelB.receipts).toEqual(ids(m));
      expect(channelB.sends).toEqual([]);

      b.pump.delivered(m.messageId, '2606081340');
      const events = await waitForTypes(m.messageId, 'MessageDelivered');
      expect(events.map((e) => e.type)).toEqual(DELIVERED);
      expect(events.filter((e) => e.type === 'MessageSent')).toHaveLength(1);
      expect(b.outcomes).toEqual(['delivered']);
    });

    it('pages through the unfinished messages, so the ones it already holds never hide the ones behind them', async () => {
      const x = await dispatchedByAnEarlierProcess({ sent: true });
      const y = await dispatchedByAnEarlierProcess();
      const z = await dispatchedByAnEarlierProcess();
      await projectReadModel();

      const channelB = new RecordingChannel(isOnline);
      const b = newPump(channelB, { clock: () => at(400), resumePageSize: 1 });
      await b.pump.activate();
      expect(channelB.receipts).toEqual(ids(x));
      expect(channelB.sentIds.sort()).toEqual(ids(y, z).sort());
      expect(b.pump.heldMessages).toBe(3);
      // All three are held now: a sweep reads past them and resumes nothing twice.
      expect(await b.pump.resumeUnfinished(0)).toBe(0);
      expect(channelB.sends).toHaveLength(2);
    });

    it('neither holds nor resumes a sent message of a channel whose far end repeats receipts (phones, SMSCs)', async () => {
      const m = await acceptMessage({ acceptedAt: at(0), channel: 'smpp' });
      online.add(SENDER);
      const channelA = new RecordingChannel(isOnline, null, 'smpp', { makesReceipts: false });
      const a = newPump(channelA);
      await a.pump.activate();
      await a.admit(m);
      expect(a.pump.heldMessages).toBe(1);
      await a.pump.sent(m.messageId, 'carrier-1');
      // No receipt may ever come (many networks send none): nothing stays in memory for it.
      expect(a.pump.heldMessages).toBe(0);
      await a.pump.deactivate();
      await projectReadModel();

      const channelB = new RecordingChannel(isOnline, null, 'smpp', { makesReceipts: false });
      const b = newPump(channelB, { clock: () => at(400) });
      await b.pump.activate();
      expect(await b.pump.resumeUnfinished(0)).toBe(0);
      expect(channelB.sends).toEqual([]);
      expect(b.pump.heldMessages).toBe(0);
      // The receipt the SMSC repeats to the new owner is still recorded, read from the stream.
      await b.pump.delivered(m.messageId, '2606081340');
      expect((await typesOf(m.messageId)).at(-1)).toBe('MessageDelivered');
      expect(b.outcomes).toEqual(['delivered']);
    });

    it('does not resume a message the read model shows unfinished but its stream shows finished', async () => {
      const m = await acceptMessage({ acceptedAt: at(0) });
      online.add(SENDER);
      const channelA = new RecordingChannel(isOnline);
      const a = newPump(channelA);
      await a.pump.activate();
      await a.admit(m);
      await projectReadModel(); // the projector saw the dispatch ...
      a.pump.sent(m.messageId, 'prov-a');
      a.pump.delivered(m.messageId, '2606081340');
      await waitForTypes(m.messageId, 'MessageDelivered'); // ... but not yet the rest
      await a.pump.deactivate();

      const channelB = new RecordingChannel(isOnline);
      const b = newPump(channelB, { clock: () => at(400) });
      await b.pump.activate();
      expect(await b.pump.resumeUnfinished(0)).toBe(0);
      expect(channelB.sends).toEqual([]);
      expect(channelB.receipts).toEqual([]);
      expect(await typesOf(m.messageId)).toEqual(DELIVERED);
      expect(b.outcomes).toEqual([]);
    });

    /**
     * A row left in dispatch_queue by a crash between a dispatch and the row's removal makes the
     * backlog pass and the resume sweep meet on one message: the sweep checks and reads inside
     * the sender's lane, so a message the pass handed over and the channel finished is not handed
     * to the phone a second time.
     */
    it('does not hand over again a message that a backlog pass handed over and the channel finished meanwhile', async () => {
      const x = await dispatchedByAnEarlierProcess(); // dispatched ...
      const y = await acceptMessage({ acceptedAt: at(1) });
      for (const m of [x, y]) await enqueue(database.db, m); // ... but its row still there
      await projectReadModel();

      // The pass's read of x waits for the resume's (or, when the resume reads x only in its
      // turn in the lane, for a moment), so both see it dispatched; y's read waits for the test.
      let xReads = 0;
      let releaseX!: () => void;
      const bothReadX = new Promise<void>((resolve) => (releaseX = resolve));
      const fallback = setTimeout(() => releaseX(), 500);
      cleanups.push(() => clearTimeout(fallback));
      let releaseY!: () => void;
      const yGate = new Promise<void>((resolve) => (releaseY = resolve));
      const { store: gated } = instrument(store, 0, async (streamId) => {
        if (streamId === messageStreamId(x.messageId)) {
          if (++xReads === 2) releaseX();
          await bothReadX;
        }
        if (streamId === messageStreamId(y.messageId)) await yGate;
      });
      const channelB = new RecordingChannel(isOnline);
      const b = newPump(channelB, { store: gated, clock: () => at(301) });
      const activated = b.pump.activate();

      await eventually(async () => (channelB.sends.length === 1 ? true : undefined));
      b.pump.sent(x.messageId, 'prov-b');
      b.pump.delivered(x.messageId, '2606081340');
      await waitForTypes(x.messageId, 'MessageDelivered');
      releaseY();
      await activated;
      await eventually(async () => ((await queueIds()).length === 0 ? true : undefined));

      expect(await typesOf(x.messageId)).toEqual(DELIVERED);
      expect(channelB.sentIds).toEqual(ids(x, y));
    });

    it('sweeps only messages unchanged for resumeAfterMs, and nothing while inactive', async () => {
      const m = await dispatchedByAnEarlierProcess(); // dispatched at 300 s
      let now = at(310);
      const channelB = new RecordingChannel(isOnline);
      const b = newPump(channelB, { clock: () => now, resumeAfterMs: 60_000 });
      await b.pump.activate(); // before the projector caught up: nothing to resume yet
      expect(channelB.sends).toEqual([]);
      await projectReadModel();

      // A pump that does not own the channel resumes nothing.
      const channelC = new RecordingChannel(isOnline);
      const c = newPump(channelC, { clock: () => at(999) });
      expect(await c.pump.resumeUnfinished(0)).toBe(0);
      expect(channelC.sends).toEqual([]);

      // Changed 10 s ago: still the business of whoever holds it.
      expect(await b.pump.resumeUnfinished()).toBe(0);
      expect(channelB.sends).toEqual([]);

      now = at(361);
      expect(await b.pump.resumeUnfinished()).toBe(1);
      expect(channelB.sentIds).toEqual(ids(m));
      expect(await typesOf(m.messageId)).toEqual(DISPATCHED);
      expect(await b.pump.resumeUnfinished()).toBe(0);
      expect(channelB.sends).toHaveLength(1);
    });
  });

  describe('failures and lifecycle', () => {
    it('retries a failed backlog pass after retryDelayMs, without another wake', async () => {
      const m = await acceptMessage({ acceptedAt: at(0) });
      await enqueue(database.db, m);
      online.add(SENDER);
      const { store: flaky, counts } = instrument(store, 1);
      const channel = new RecordingChannel(isOnline);
      const { pump } = newPump(channel, { store: flaky, retryDelayMs: 100 });
      const started = Date.now();
      await pump.activate();

      await eventually(async () => (channel.sends.length === 1 ? true : undefined), 900);
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      expect(counts.failAppends).toBe(0);
      expect(counts.appends).toBe(2);
      expect(await typesOf(m.messageId)).toEqual(DISPATCHED);
      await eventually(async () => ((await queueIds()).length === 0 ? true : undefined));
    });

    it('hands nothing over while inactive: admissions wait in dispatch_queue until activate(), and finished rows are just removed', async () => {
      const finished = await acceptMessage({ acceptedAt: at(0) });
      // Finished elsewhere (e.g. by the scheduler's expiry) after it was queued.
      await executeMessageCommand(store, {
        type: 'ExpireMessage',
        data: { messageId: finished.messageId, accountId: finished.accountId, now: at(4000).toISOString() },
      });
      await enqueue(database.db, finished);
      const m = await acceptMessage({ acceptedAt: at(1) });
      online.add(SENDER);
      const channel = new RecordingChannel(isOnline);
      const { pump, outcomes, admit } = newPump(channel);
      expect(pump.isActive).toBe(false);

      pump.wake(SENDER);
      await admit(m); // online, no backlog known to this pump, but not the channel's owner
      await sleep(100);
      expect(channel.sends).toEqual([]);
      expect(await queueIds()).toEqual(ids(finished, m));
      expect(await typesOf(m.messageId)).toEqual(ACCEPTED_AND_QUEUED);

      await pump.activate();
      await eventually(async () => ((await queueIds()).length === 0 ? true : undefined));
      expect(channel.sentIds).toEqual(ids(m));
      expect(await typesOf(finished.messageId)).toEqual([...ACCEPTED_AND_QUEUED, 'MessageExpired']);
      // Not expired by the pump: it counts no outcome for it.
      expect(outcomes).toEqual(['dispatched']);
    });

    it('stops handing over when deactivated in the middle of a pass, and keeps later admissions for the next owner', async () => {
      const [m0, m1, m2, m3] = [
        await acceptMessage({ acceptedAt: at(0) }),
        await acceptMessage({ acceptedAt: at(1) }),
        await acceptMessage({ acceptedAt: at(2) }),
        await acceptMessage({ acceptedAt: at(3) }),
      ] as const;
      for (const m of [m0, m1, m2]) await enqueue(database.db, m);
      online.add(SENDER);
      const channel = new RecordingChannel(isOnline);
      const { pump, admit } = newPump(channel);
      let deactivated: Promise<void> | null = null;
      channel.onSend = () => {
        deactivated ??= pump.deactivate(); // the lease is lost right after the first hand-over
      };
      await pump.activate();

      await eventually(async () => (deactivated ? true : undefined));
      await deactivated;
      expect(pump.isActive).toBe(false);
      await admit(m3);
      pump.wake(SENDER);
      await sleep(100);
      expect(channel.sentIds).toEqual(ids(m0));
      expect(await queueIds()).toEqual(ids(m1, m2, m3));
      for (const m of [m1, m2, m3]) expect(await typesOf(m.messageId)).toEqual(ACCEPTED_AND_QUEUED);

      // The next owner sends the rest, in order.
      const channelB = new RecordingChannel(isOnline);
      const b = newPump(channelB);
      await b.pump.activate();
      await eventually(async () => (channelB.sends.length === 3 ? true : undefined));
      expect(channelB.sentIds).toEqual(ids(m1, m2, m3));
      expect(await dispatchedInLogOrder()).toEqual(ids(m0, m1, m2, m3));
    });
  });

  describe('trace context of the backlog', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

    beforeAll(() => provider.register());
    afterAll(async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    });

    it('stores the trace and correlation id a message was queued in, and sends it from the backlog in them', async () => {
      const clientTrace = randomBytes(16).toString('hex');
      const requestId = `req-backlog-${clientTrace.slice(0, 8)}`;
      // The gateway's request: the message is accepted (and released) in the client's trace.
      const m = await runWithLogFields({ correlationId: requestId }, () =>
        inSpan('POST /create', { kind: SpanKind.SERVER, parent: contextFromTraceparent(`00-${clientTrace}-${randomBytes(8).toString('hex')}-01`) }, () =>
          acceptMessage({ acceptedAt: at(0) }),
        ),
      );
      const pump = new DispatchPump({ db: database.db, store, logger, clock: () => PUMP_NOW });
      const channel = new SimulatedChannel(
        { sendLatencyMs: 0, deliveryLatencyMs: 0, failureRate: 0, undeliveredRate: 0 },
        isOnline,
        () => 0.5,
        undefined,
        () => PUMP_NOW,
      );
      pump.attach(channel);
      void pump.startChannels();
      cleanups.push(async () => {
        await pump.deactivate();
        await channel.stop();
      });
      await pump.activate();

      // The phone is offline: the MessageQueued consumer (its span, its log context) puts it in the backlog.
      const delivery = await queuedDelivery(m);
      const { parent, fields } = consumedMessageContext(delivery.headers, () => delivery.json());
      const handler = createQueuedMessageHandler({ store, pump });
      const consumerSpanId = await runWithLogFields(fields, () =>
        inSpan('process events.MessageQueued', { kind: SpanKind.CONSUMER, parent }, async (span) => {
          expect(await handler(delivery)).toEqual({ kind: 'ack' });
          return span.spanContext().spanId;
        }),
      );
      const [row] = await database.db.selectFrom('dispatch_queue').select(['message_id', 'trace_parent', 'correlation_id']).execute();
      expect(row).toEqual({ message_id: m.messageId, trace_parent: `00-${clientTrace}-${consumerSpanId}-01`, correlation_id: requestId });

      // The phone comes back; the pass (detached from whatever woke it) sends the message in its own trace.
      online.add(SENDER);
      pump.wake(SENDER);
      const events = await waitForTypes(m.messageId, 'MessageDelivered');
      expect(events.map((e) => e.type)).toEqual(DELIVERED);
      const [send] = exporter.getFinishedSpans().filter((span) => span.name === 'dispatch backlog send');
      expect(send?.spanContext().traceId).toBe(clientTrace);
      expect(send?.parentSpanContext?.spanId).toBe(consumerSpanId);
      for (const event of events) {
        expect(event.metadata).toMatchObject({ correlationId: requestId, messageId: m.messageId, accountId: m.accountId });
        expect(String(event.metadata['traceparent'])).toMatch(new RegExp(`^00-${clientTrace}-[0-9a-f]{16}-01$`));
      }
      // The dispatch is appended inside the backlog send's span; the channel's reports follow from it.
      expect(String(events[2]!.metadata['traceparent']).split('-')[2]).toBe(send?.spanContext().spanId);
      await eventually(async () => ((await queueIds()).length === 0 ? true : undefined));
    });

    it('stores no trace for a message admitted in another message’s context', async () => {
      const m = await acceptMessage({ acceptedAt: at(0) });
      const { pump } = newPump(new RecordingChannel(isOnline));
      await pump.activate();
      await runWithLogFields({ messageId: randomUUID(), correlationId: 'someone-else' }, () =>
        inSpan('other', { kind: SpanKind.CONSUMER }, () => pump.admit(SENDER, () => loadOf(m))),
      );
      const rows = await database.db.selectFrom('dispatch_queue').select(['trace_parent', 'correlation_id']).execute();
      expect(rows).toEqual([{ trace_parent: null, correlation_id: null }]);
    });
  });

  describe('channels and their reports', () => {
    it('hands each message to the channel of its kind, and a channel that is not ready keeps it waiting until it wakes the sender', async () => {
      const simulated = new RecordingChannel(() => true);
      let deviceReady = false;
      const device = new RecordingChannel(() => deviceReady, null, 'device');
      const { pump } = newPump(simulated);
      pump.attach(device);
      await pump.startChannels();
      await pump.activate();
      const viaSimulated = await acceptMessage({ acceptedAt: at(0) });
      const viaDevice = await acceptMessage({ acceptedAt: at(1), from: OTHER_SENDER, channel: 'device' });
      const handler = createQueuedMessageHandler({ store, pump });

      await handler(await queuedDelivery(viaSimulated));
      await handler(await queuedDelivery(viaDevice));
      expect(simulated.sentIds).toEqual([viaSimulated.messageId]);
      expect(device.sends).toEqual([]);
      expect(await queueIds()).toEqual([viaDevice.messageId]);

      deviceReady = true;
      device.hooks?.wake(OTHER_SENDER);
      await eventually(async () => (device.sends.length === 1 ? true : undefined));
      expect(device.sends).toEqual([handedOver(viaDevice)]);
      const dispatched = (await streamOf(viaDevice.messageId)).find((e) => e.type === 'MessageDispatched');
      expect(dispatched?.data).toMatchObject({ channel: 'device' });
      await eventually(async () => ((await queueIds()).length === 0 ? true : undefined));
    });

    it('wakes every waiting sender when a channel wakes without naming one', async () => {
      let ready = false;
      const device = new RecordingChannel(() => ready, null, 'device');
      const { pump } = newPump(device);
      await pump.startChannels();
      await pump.activate();
      const first = await acceptMessage({ acceptedAt: at(0), channel: 'device' });
      const second = await acceptMessage({ acceptedAt: at(1), from: OTHER_SENDER, channel: 'device' });
      const handler = createQueuedMessageHandler({ store, pump });
      await handler(await queuedDelivery(first));
      await handler(await queuedDelivery(second));
      expect(device.sends).toEqual([]);

      ready = true;
      device.hooks?.wake();
      await eventually(async () => (device.sends.length === 2 ? true : undefined));
      expect(device.sentIds.sort()).toEqual([first.messageId, second.messageId].sort());
    });

    it('resolves a report once it is appended, and refuses reports that can never be recorded', async () => {
      const m = await acceptMessage({ acceptedAt: at(0) });
      online.add(SENDER);
      const channel = new RecordingChannel(isOnline);
      const { pump, admit } = newPump(channel);
      await pump.activate();
      const waiting = await acceptMessage({ acceptedAt: at(1), from: OTHER_SENDER });

      await admit(m);
      await pump.sent(m.messageId, 'carrier-1');
      // No waiting: the promise resolved after the append (a channel acknowledges its peer only then).
      expect(await typesOf(m.messageId)).toEqual([...DISPATCHED, 'MessageSent']);
      await pump.sent(m.messageId, 'carrier-1');
      expect(await typesOf(m.messageId)).toEqual([...DISPATCHED, 'MessageSent']);

      await expect(pump.delivered(randomUUID(), null)).rejects.toBeInstanceOf(ChannelReportRefusedError);
      // A peer that names the message itself (a phone) may only report on its own account's messages of its channel.
      await expect(pump.delivered(m.messageId, null, { accountId: randomUUID(), channel: 'simulated' })).rejects.toBeInstanceOf(ChannelReportRefusedError);
      await expect(pump.delivered(m.messageId, null, { accountId: m.accountId, channel: 'device' })).rejects.toBeInstanceOf(ChannelReportRefusedError);
      expect(await typesOf(m.messageId)).toEqual([...DISPATCHED, 'MessageSent']);
      await pump.delivered(m.messageId, '2606081335', { accountId: m.accountId, channel: 'simulated' });
      expect(await typesOf(m.messageId)).toEqual(DELIVERED);
      // Sent before it was dispatched: the decider refuses it, and retrying would not change that.
      await expect(pump.sent(waiting.messageId, null)).rejects.toBeInstanceOf(ChannelReportRefusedError);
      expect(await typesOf(waiting.messageId)).toEqual(ACCEPTED_AND_QUEUED);
    });

    it('records an inbound SMS once per channel key, for the account that holds the number', async () => {
      const accountId = randomUUID();
      const ours = '+14155550123';
      await sql`insert into accounts (id, name, api_user, monthly_allowance_segments, overage_price_per_segment_usd)
                values (${accountId}, 'inbound test', ${`AU${accountId.slice(0, 8)}`}, 100, 0.01)`.execute(database.db);
      await sql`insert into numbers (e164, account_id, channel) values (${ours}, ${accountId}, 'device')`.execute(database.db);
      const { pump } = newPump(new RecordingChannel(isOnline));
      const sms = { key: 'dev-1:in-42', from: '+14155559876', to: ours, body: 'STOP' };

      await pump.received(sms, 'device');
      await pump.received(sms, 'device');

      const events = await streamOf(inboundMessageId('device', sms.key));
      expect(events.map((e) => e.type)).toEqual(['MessageReceived']);
      expect(events[0]!.data).toMatchObject({ accountId, from: sms.from, to: ours, body: 'STOP', channel: 'device' });
      // The same key from another channel is another SMS.
      expect(inboundMessageId('smpp', sms.key)).not.toBe(inboundMessageId('device', sms.key));
      await expect(pump.received({ ...sms, key: 'other', to: '+14155550999' }, 'device')).rejects.toBeInstanceOf(ChannelReportRefusedError);
    });
  });
});
