import { randomBytes, randomUUID } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import pino from 'pino';
import type { NatsConnection } from 'nats';
import { MessageEvent, messageStreamId, natsNames, type MessageCommand, type MessageEventOf } from '@reach/contracts';
import { PostgresEventStore, formatPosition, type EventStore, type RecordedEvent } from '@reach/event-store';
import { executeMessageCommand } from '@reach/infrastructure';
import { connectNats, deleteTopology, drainNats, ensureTopology, publishEvents, type RelayedEvent } from '@reach/messaging';
import { SpanKind, contextFromTraceparent, inSpan, runWithLogFields } from '@reach/telemetry';
import { createTestDatabase, eventually, testNamespace, testUrls, type TestDatabase } from '@reach/testing';
import type { FiredTimer } from './fire-timers/timer-firing-loop';
import { startScheduler, type PendingTimers, type RunningScheduler, type SchedulerSettings } from './scheduler';
import { retryAt } from './fire-timers/timer-command';
import { claimDueTimers, recordTimers, rescheduleTimers } from './timers/timers.repository';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const settings: SchedulerSettings = {
  batchSize: 100,
  firingLoops: 2,
  maxSleepMs: 250,
  consumerConcurrency: 64,
  pendingGaugeIntervalMs: 60_000,
};

interface Accepted {
  readonly messageId: string;
  readonly accountId: string;
  readonly scheduledFor: string | null;
  readonly expiresAt: string;
}

interface StartedScheduler {
  readonly scheduler: RunningScheduler;
  readonly fired: FiredTimer[];
  stop(): Promise<void>;
}

/**
 * The scheduler against real PostgreSQL (store and timers) and NATS. The relay is another
 * service, so the tests publish the store's events to JetStream themselves, as it would.
 */
describe('scheduler (durable timers)', () => {
  const names = natsNames(testNamespace());
  let database: TestDatabase;
  let store: PostgresEventStore;
  let nc: NatsConnection;
  const running = new Set<StartedScheduler>();

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.pool, { pollIntervalMs: 5 });
    nc = await connectNats({ url: testUrls.nats, name: 'scheduler-test', logger });
    await ensureTopology(nc, names);
  });

  afterEach(async () => {
    await Promise.all([...running].map((s) => s.stop()));
  });

  afterAll(async () => {
    if (nc) {
      await deleteTopology(nc, names);
      await drainNats(nc);
    }
    await store?.close();
    await database?.drop();
  });

  async function start(options: { store?: EventStore; settings?: Partial<SchedulerSettings> } = {}): Promise<StartedScheduler> {
    const fired: FiredTimer[] = [];
    const scheduler = await startScheduler({
      db: database.db,
      store: options.store ?? store,
      nc,
      names,
      logger,
      settings: { ...settings, ...options.settings },
      onFired: (f) => fired.push(f),
    });
    const started: StartedScheduler = {
      scheduler,
      fired,
      async stop() {
        running.delete(started);
        await scheduler.stop();
      },
    };
    running.add(started);
    return started;
  }

  function toRelayed(e: RecordedEvent): RelayedEvent {
    return {
      eventId: e.eventId,
      type: e.type,
      streamId: e.streamId,
      revision: e.revision.toString(),
      position: formatPosition(e.position),
      data: e.data,
      metadata: { ...e.metadata },
      createdAt: e.createdAt.toISOString(),
    };
  }

  /** What the relay does: the stream's events onto JetStream (deduplicated by event id). */
  async function relay(messageIds: readonly string[], types?: readonly string[]): Promise<void> {
    const streams = await Promise.all(messageIds.map((id) => store.readStream(messageStreamId(id))));
    const events = streams.flat().filter((e) => !types || types.includes(e.type));
    await publishEvents(nc.jetstream(), names, events.map(toRelayed));
  }

  async function execute(command: MessageCommand): Promise<readonly MessageEvent[]> {
    return (await executeMessageCommand(store, command)).events;
  }

  /** Accepts an outbound message (scheduled `scheduledInMs` from now, when given) and relays its events. */
  async function accept(options: { scheduledInMs?: number; validitySeconds?: number; relayEvents?: boolean } = {}): Promise<Accepted> {
    const messageId = randomUUID();
    const accountId = randomUUID();
    const now = new Date();
    const scheduledFor = options.scheduledInMs === undefined ? null : new Date(now.getTime() + options.scheduledInMs).toISOString();
    const events = await execute({
      type: 'AcceptMessage',
      data: {
        messageId,
        accountId,
        now: now.toISOString(),
        from: '+14155552671',
        to: '+14155553000',
        body: 'hello',
        segments: { encoding: 'GSM-7', count: 1 },
        channel: 'simulated',
        dialect: 'reach',
        bulkId: null,
        statusCallback: null,
        maxPrice: null,
        validityPeriodSeconds: options.validitySeconds ?? 14_400,
        scheduledFor,
        billing: { monthlyAllowanceSegments: 10, overagePricePerSegmentUsd: 0.01 },
      },
    });
    const acceptedEvent = events.find((e): e is MessageEventOf<'MessageAccepted'> => e.type === 'MessageAccepted');
    if (!acceptedEvent) throw new Error('AcceptMessage appended no MessageAccepted');
    if (options.relayEvents ?? true) await relay([messageId]);
    return { messageId, accountId, scheduledFor, expiresAt: acceptedEvent.data.expiresAt };
  }

  async function acceptMany(count: number, options: Parameters<typeof accept>[0]): Promise<Accepted[]> {
    return Promise.all(Array.from({ length: count }, () => accept(options)));
  }

  async function eventsOf(messageId: string): Promise<MessageEvent[]> {
    const recorded = await store.readStream(messageStreamId(messageId));
    return recorded.map((r) => MessageEvent.parse({ type: r.type, data: r.data }));
  }

  function ofType<T extends MessageEvent['type']>(events: readonly MessageEvent[], type: T): MessageEventOf<T>[] {
    return events.filter((e): e is MessageEventOf<T> => e.type === type);
  }

  /** Resolves once every message has at least one event of `type`; returns each message's events. */
  async function waitForEach(messages: readonly Accepted[], type: MessageEvent['type'], timeoutMs = 10_000): Promise<MessageEvent[][]> {
    return eventually(async () => {
      const all = await Promise.all(messages.map((m) => eventsOf(m.messageId)));
      return all.every((events) => events.some((e) => e.type === type)) ? all : undefined;
    }, timeoutMs);
  }

  async function timerRows(messageIds: readonly string[]): Promise<{ message_id: string; kind: string }[]> {
    return database.db.selectFrom('scheduler_timers').select(['message_id', 'kind']).where('message_id', 'in', [...messageIds]).execute();
  }

  async function waitForTimers(messageIds: readonly string[], count: number): Promise<void> {
    await eventually(async () => ((await timerRows(messageIds)).length >= count ? true : undefined));
  }

  /** Fired timers are deleted when their round commits, a moment after their commands ran. */
  async function waitForTimerKinds(messageIds: readonly string[], kinds: readonly string[]): Promise<void> {
    await eventually(async () => {
      const rows = (await timerRows(messageIds)).map((r) => r.kind).sort();
      return JSON.stringify(rows) === JSON.stringify([...kinds].sort()) ? true : undefined;
    }, 5_000);
  }

  function latenessMs(message: Accepted, events: readonly MessageEvent[]): number {
    const [queued] = ofType(events, 'MessageQueued');
    if (!queued || message.scheduledFor === null) throw new Error(`message ${message.messageId} was not released`);
    return Date.parse(queued.data.queuedAt) - Date.parse(message.scheduledFor);
  }

  it('releases scheduled messages within 1 s of their time, once each', async () => {
    const { fired } = await start();
    const messages = await Promise.all(Array.from({ length: 20 }, (_, i) => accept({ scheduledInMs: 1_500 + i * 50 })));

    const streams = await waitForEach(messages, 'MessageQueued');

    messages.forEach((message, i) => {
      const events = streams[i]!;
      expect(events.map((e) => e.type)).toEqual(['MessageAccepted', 'MessageScheduled', 'MessageQueued']);
      const lateness = latenessMs(message, events);
      expect(lateness).toBeGreaterThanOrEqual(0);
      expect(lateness).toBeLessThan(1_000);
    });
    // The firing is reported once the append's answer is back, a moment after the event is visible.
    const releases = await eventually(async () => {
      const done = fired.filter((f) => f.timer.kind === 'release');
      return done.length >= 20 ? done : undefined;
    });
    expect(releases).toHaveLength(20);
    expect(releases.every((f) => f.outcome === 'applied')).toBe(true);
    // The release timers are gone; the expiry timers wait for their deadline.
    await waitForTimerKinds(
      messages.map((m) => m.messageId),
      messages.map(() => 'expire'),
    );
  });

  it('wakes for a timer recorded while it sleeps, however long its sleep', async () => {
    await start({ settings: { maxSleepMs: 20_000, firingLoops: 1 } });
    await sleep(300); // the loop found nothing due and went to sleep for 20 s
    const [message] = await acceptMany(1, { scheduledInMs: 800 });

    const [events] = await waitForEach([message!], 'MessageQueued', 5_000);
    expect(latenessMs(message!, events!)).toBeLessThan(1_000);
  });

  it('releases after a restart what fell due while no scheduler ran', async () => {
    const first = await start();
    const recordedBefore = await acceptMany(10, { scheduledInMs: 1_500 });
    await waitForTimers(
      recordedBefore.map((m) => m.messageId),
      20,
    );
    await first.stop();
    // Accepted while the scheduler is down: the events wait in JetStream.
    const relayedWhileDown = await acceptMany(5, { scheduledInMs: 1_000 });
    const messages = [...recordedBefore, ...relayedWhileDown];
    await sleep(2_000);
    for (const m of messages) expect(ofType(await eventsOf(m.messageId), 'MessageQueued')).toHaveLength(0);

    const restartedAt = Date.now();
    await start();
    const streams = await waitForEach(messages, 'MessageQueued', 5_000);
    expect(Date.now() - restartedAt).toBeLessThan(3_000);
    for (const events of streams) expect(ofType(events, 'MessageQueued')).toHaveLength(1);
  });

  it('with two schedulers on one database, releases each message exactly once', async () => {
    const a = await start();
    const b = await start();
    const messages = await acceptMany(300, { scheduledInMs: 2_000 });

    const streams = await waitForEach(messages, 'MessageQueued', 15_000);
    await sleep(500); // a double release would show up by now
    const again = await Promise.all(messages.map((m) => eventsOf(m.messageId)));

    for (const events of [...streams, ...again]) expect(ofType(events, 'MessageQueued')).toHaveLength(1);
    const ids = new Set(messages.map((m) => m.messageId));
    const firings = new Map<string, number>();
    for (const f of [...a.fired, ...b.fired]) {
      if (f.timer.kind !== 'release' || !ids.has(f.timer.messageId)) continue;
      firings.set(f.timer.messageId, (firings.get(f.timer.messageId) ?? 0) + 1);
    }
    expect(firings.size).toBe(300);
    expect([...firings.values()].every((n) => n === 1)).toBe(true);
    const lateness = messages.map((m, i) => latenessMs(m, again[i]!));
    expect(Math.max(...lateness)).toBeLessThan(1_000);
  });

  it('expires a queued message never dispatched by its deadline (30001)', async () => {
    const { fired } = await start();
    const [message] = await acceptMany(1, { validitySeconds: 1 });

    const [events] = await waitForEach([message!], 'MessageExpired', 5_000);
    expect(events!.map((e) => e.type)).toEqual(['MessageAccepted', 'MessageQueued', 'MessageExpired']);
    const [expired] = ofType(events!, 'MessageExpired');
    expect(expired!.data.errorCode).toBe(30001);
    const late = Date.parse(expired!.data.expiredAt) - Date.parse(message!.expiresAt);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1_000);
    const firing = await eventually(async () => fired.find((f) => f.timer.messageId === message!.messageId));
    expect(firing.outcome).toBe('applied');
    await waitForTimerKinds([message!.messageId], []);
  });

  it('of an expiry racing a dispatch, exactly one is recorded', async () => {
    await start();
    const messages = await acceptMany(40, { validitySeconds: 1 });
    await waitForTimers(
      messages.map((m) => m.messageId),
      40,
    );
    // Dispatch attempts spread from 60 ms before to 60 ms after each message's deadline.
    const dispatches = messages.map(async (m, i) => {
      const at = Date.parse(m.expiresAt) - 60 + (i % 13) * 10;
      await sleep(Math.max(0, at - Date.now()));
      await execute({ type: 'DispatchMessage', data: { messageId: m.messageId, accountId: m.accountId, now: new Date().toISOString(), channel: 'simulated' } });
    });
    await Promise.all(dispatches);
    await eventually(async () => ((await timerRows(messages.map((m) => m.messageId))).length === 0 ? true : undefined), 5_000);

    let dispatched = 0;
    for (const m of messages) {
      const events = await eventsOf(m.messageId);
      const outcomes = events.filter((e) => e.type === 'MessageDispatched' || e.type === 'MessageExpired');
      expect(outcomes).toHaveLength(1);
      if (outcomes[0]!.type === 'MessageDispatched') dispatched += 1;
    }
    // Both sides won some races (the attempts straddle the deadline).
    expect(dispatched).toBeGreaterThan(0);
    expect(dispatched).toBeLessThan(messages.length);
  });

  it('a canceled message is not released: its timer fires as a no-op', async () => {
    const { fired } = await start();
    const [message] = await acceptMany(1, { scheduledInMs: 1_200 });
    await waitForTimers([message!.messageId], 2);
    const ref = { messageId: message!.messageId, accountId: message!.accountId };
    await execute({ type: 'CancelMessage', data: { ...ref, now: new Date().toISOString() } });

    const release = await eventually(async () => fired.find((f) => f.timer.messageId === ref.messageId && f.timer.kind === 'release'), 5_000);
    expect(release.outcome).toBe('noop');
    expect((await eventsOf(ref.messageId)).map((e) => e.type)).toEqual(['MessageAccepted', 'MessageScheduled', 'MessageCanceled']);
  });

  it('removes the timers a cancel or a dispatch made pointless', async () => {
    await start();
    const [canceled, dispatched] = await acceptMany(2, { scheduledInMs: 60_000 });
    await waitForTimers([canceled!.messageId, dispatched!.messageId], 4);

    await execute({ type: 'CancelMessage', data: { messageId: canceled!.messageId, accountId: canceled!.accountId, now: new Date().toISOString() } });
    const now = () => new Date().toISOString();
    const d = { messageId: dispatched!.messageId, accountId: dispatched!.accountId };
    await execute({ type: 'ReleaseMessage', data: { ...d, now: now() } });
    await execute({ type: 'DispatchMessage', data: { ...d, now: now(), channel: 'simulated' } });
    await relay([canceled!.messageId, dispatched!.messageId], ['MessageCanceled', 'MessageDispatched']);

    await eventually(async () => ((await timerRows([canceled!.messageId])).length === 0 ? true : undefined));
    // The dispatched message's expiry is gone; its release timer (60 s away) would be a no-op.
    await eventually(async () => {
      const rows = await timerRows([dispatched!.messageId]);
      return rows.length === 1 && rows[0]!.kind === 'release' ? true : undefined;
    });
  });

  it('retries a firing that failed, and a repeated firing changes nothing', async () => {
    // The first append goes through but its answer is lost (as with a connection reset after
    // the commit): the scheduler cannot know, so it keeps the timer and fires it again.
    let lostAnswers = 1;
    const flaky = new Proxy(store, {
      get(target, property) {
        if (property === 'appendToStream') {
          return async (...args: Parameters<EventStore['appendToStream']>) => {
            const result = await target.appendToStream(...args);
            if (lostAnswers > 0) {
              lostAnswers -= 1;
              throw new Error('connection reset (simulated)');
            }
            return result;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { fired } = await start({ store: flaky });
    const [message] = await acceptMany(1, { scheduledInMs: 1_000 });

    const outcomes = await eventually(async () => {
      const mine = fired.filter((f) => f.timer.messageId === message!.messageId && f.timer.kind === 'release');
      return mine.length >= 2 ? mine.map((f) => f.outcome) : undefined;
    }, 5_000);
    expect(outcomes).toEqual(['retry', 'noop']);
    expect(ofType(await eventsOf(message!.messageId), 'MessageQueued')).toHaveLength(1);
    await waitForTimerKinds([message!.messageId], ['expire']);
  });

  it('drops a timer that can never fire (no such message)', async () => {
    const { fired } = await start();
    const ghost = { messageId: randomUUID(), accountId: randomUUID() };
    await recordTimers(database.db, [{ ...ghost, kind: 'release', dueAt: new Date() }]);

    const firing = await eventually(async () => fired.find((f) => f.timer.messageId === ghost.messageId), 5_000);
    expect(firing.outcome).toBe('dropped');
    await waitForTimerKinds([ghost.messageId], []);
  });

  it('records timers idempotently and reports pending and overdue timers', async () => {
    const counts: PendingTimers[] = [];
    const scheduler = await startScheduler({
      db: database.db,
      store,
      nc,
      names,
      logger,
      // Records and counts, fires nothing: the overdue timer below stays overdue.
      settings: { ...settings, firingLoops: 0, pendingGaugeIntervalMs: 1_000 },
      onPendingCounted: (c) => counts.push(c),
    });
    try {
      const [message] = await acceptMany(1, { scheduledInMs: 600_000 });
      await waitForTimers([message!.messageId], 2);
      await relay([message!.messageId]); // a re-publish outside JetStream's duplicate window would look like this
      await recordTimers(database.db, [{ ...message!, kind: 'release', dueAt: new Date(Date.now() + 1_000) }]);
      const rows = await database.db.selectFrom('scheduler_timers').selectAll().where('message_id', '=', message!.messageId).orderBy('kind').execute();
      expect(rows.map((r) => [r.kind, r.due_at.toISOString()])).toEqual([
        ['expire', message!.expiresAt],
        ['release', message!.scheduledFor],
      ]);

      await recordTimers(database.db, [{ messageId: randomUUID(), accountId: randomUUID(), kind: 'release', dueAt: new Date(Date.now() - 7_200_000) }]);
      const latest = await eventually(async () => {
        const last = counts[counts.length - 1];
        return last && last.pending >= 3 && last.overdue >= 1 ? last : undefined;
      }, 10_000);
      expect(latest.overdue).toBe(1);
    } finally {
      await scheduler.stop();
    }
  });

  describe('trace context of the timers', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

    beforeAll(() => provider.register());
    afterAll(async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    });

    /** Accepts (and relays) a message inside a client request: its trace, its X-Request-Id. */
    async function acceptInRequest(options: Parameters<typeof accept>[0]) {
      const clientTrace = randomBytes(16).toString('hex');
      const requestId = `req-timer-${clientTrace.slice(0, 8)}`;
      const parent = contextFromTraceparent(`00-${clientTrace}-${randomBytes(8).toString('hex')}-01`);
      const message = await runWithLogFields({ correlationId: requestId }, () => inSpan('POST /create', { kind: SpanKind.SERVER, parent }, () => accept(options)));
      return { message, clientTrace, requestId };
    }

    async function storedTimers(messageId: string) {
      return database.db.selectFrom('scheduler_timers').select(['kind', 'trace_parent', 'correlation_id']).where('message_id', '=', messageId).orderBy('kind').execute();
    }

    it('records the trace and correlation id with each timer, and releases the message in them', async () => {
      await start();
      const { message, clientTrace, requestId } = await acceptInRequest({ scheduledInMs: 1_500 });

      // Recorded by the MessageAccepted consumer, in its span (a child of the relay's publish).
      await waitForTimers([message.messageId], 2);
      const rows = await storedTimers(message.messageId);
      expect(rows.map((r) => [r.kind, r.correlation_id])).toEqual([
        ['expire', requestId],
        ['release', requestId],
      ]);
      const traceParent = rows[0]!.trace_parent;
      expect(traceParent).toMatch(new RegExp(`^00-${clientTrace}-[0-9a-f]{16}-01$`));
      expect(rows[1]!.trace_parent).toBe(traceParent);
      const consumerSpan = exporter.getFinishedSpans().find((span) => span.spanContext().spanId === traceParent!.split('-')[2]);
      expect(consumerSpan?.kind).toBe(SpanKind.CONSUMER);

      await waitForEach([message], 'MessageQueued');
      const queued = (await store.readStream(messageStreamId(message.messageId))).find((e) => e.type === 'MessageQueued')!;
      expect(queued.metadata).toMatchObject({ correlationId: requestId, messageId: message.messageId, accountId: message.accountId });
      const fire = exporter.getFinishedSpans().find((span) => span.name === 'scheduler fire release' && span.spanContext().traceId === clientTrace);
      expect(fire?.parentSpanContext?.spanId).toBe(traceParent!.split('-')[2]);
      expect(queued.metadata['traceparent']).toBe(`00-${clientTrace}-${fire?.spanContext().spanId}-01`);
    });

    it('expires the message in the trace and with the correlation id it was accepted in', async () => {
      await start();
      const { message, clientTrace, requestId } = await acceptInRequest({ validitySeconds: 1 });

      await waitForEach([message], 'MessageExpired', 5_000);
      const expired = (await store.readStream(messageStreamId(message.messageId))).find((e) => e.type === 'MessageExpired')!;
      expect(expired.metadata).toMatchObject({ correlationId: requestId, messageId: message.messageId });
      expect(String(expired.metadata['traceparent'])).toMatch(new RegExp(`^00-${clientTrace}-[0-9a-f]{16}-01$`));
      expect(exporter.getFinishedSpans().some((span) => span.name === 'scheduler fire expire' && span.spanContext().traceId === clientTrace)).toBe(true);
    });

    it('keeps the trace of a timer put back after a failed firing', async () => {
      const traceParent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
      const ghost = { messageId: randomUUID(), accountId: randomUUID() };
      // No scheduler runs: the round below is the only one.
      await recordTimers(database.db, [{ ...ghost, kind: 'release', dueAt: new Date(Date.now() - 1_000), traceParent, correlationId: 'req-ghost' }]);
      await database.db.transaction().execute(async (trx) => {
        const claimed = await claimDueTimers(trx, new Date(), 10_000);
        expect(claimed.find((t) => t.messageId === ghost.messageId)).toMatchObject({ traceParent, correlationId: 'req-ghost' });
        await rescheduleTimers(trx, claimed.map((t) => retryAt(t, new Date())));
      });
      expect(await storedTimers(ghost.messageId)).toEqual([{ kind: 'release', trace_parent: traceParent, correlation_id: 'req-ghost' }]);
    });
  });
});
