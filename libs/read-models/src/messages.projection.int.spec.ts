import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { sql } from 'kysely';
import { MessageEvent, messageStreamId, type BillingTerms, type MessageCommand } from '@reach/contracts';
import { PostgresEventStore, START, comparePositions, type RecordedEvent } from '@reach/event-store';
import { decide, foldMessage } from '@reach/message-domain';
import { createTestDatabase, eventually, uniqueSuffix, type TestDatabase } from '@reach/testing';
import { readCheckpoint } from './checkpoints.repository';
import { evolveMessageView, messageRowToView, type MessageView } from './message-view';
import { projectMessages } from './messages.projection';
import { ProjectionRunner, type ProjectBatch } from './projection-runner';
import { findMessage, listMessages } from './message.queries';

const silent = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

const T0 = Date.parse('2026-06-08T13:30:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const generous: BillingTerms = { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 };

let database: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => {
  database = await createTestDatabase();
  store = new PostgresEventStore(database.pool, { pollIntervalMs: 5 });
});

afterAll(async () => {
  await store?.close();
  await database?.drop();
});

// ---------------------------------------------------------------------------------------------
// writing events: the message decider, appended with the expected revision

/** Read, fold, decide, append; returns the recorded events the command added. */
async function execute(command: MessageCommand): Promise<RecordedEvent[]> {
  const streamId = messageStreamId(command.data.messageId);
  const recorded = await store.readStream(streamId);
  const state = foldMessage(recorded.map((r) => MessageEvent.parse({ type: r.type, data: r.data })));
  const events = decide(command, state);
  if (events.length === 0) return [];
  const last = recorded[recorded.length - 1];
  await store.appendToStream(
    streamId,
    events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data })),
    { expectedRevision: last ? last.revision : 'no_stream' },
  );
  return store.readStream(streamId, { fromRevision: last ? last.revision + 1n : 0n });
}

type Stage = 'queued' | 'dispatched' | 'sent' | 'delivered';
const stages: readonly Stage[] = ['queued', 'dispatched', 'sent', 'delivered'];

interface SendOptions {
  readonly accountId: string;
  /** Seconds after T0 of the accept; each later step follows one second after the previous one. */
  readonly start?: number;
  readonly until?: Stage;
  readonly billing?: BillingTerms;
  readonly segments?: number;
}

interface SentMessage {
  readonly messageId: string;
  readonly events: RecordedEvent[];
}

/** One outbound message taken through its lifecycle up to `until`; returns its id and events. */
async function sendMessage(options: SendOptions): Promise<SentMessage> {
  const messageId = randomUUID();
  const { accountId } = options;
  const start = options.start ?? 0;
  const upTo = stages.indexOf(options.until ?? 'delivered');
  const ref = (offset: number) => ({ messageId, accountId, now: at(start + offset) });
  const events = await execute({
    type: 'AcceptMessage',
    data: {
      ...ref(0),
      from: '+14155552671',
      to: '+14155553000',
      body: 'Your code is 123456',
      segments: { encoding: 'GSM-7', count: options.segments ?? 1 },
      channel: 'simulated',
      dialect: 'reachcell',
      bulkId: null,
      statusCallback: null,
      maxPrice: null,
      validityPeriodSeconds: 3600,
      scheduledFor: null,
      billing: options.billing ?? generous,
    },
  });
  if (upTo >= 1) events.push(...(await execute({ type: 'DispatchMessage', data: { ...ref(1), channel: 'simulated' } })));
  if (upTo >= 2) events.push(...(await execute({ type: 'RecordMessageSent', data: { ...ref(2), providerMessageId: `p-${messageId}` } })));
  if (upTo >= 3) events.push(...(await execute({ type: 'RecordMessageDelivered', data: { ...ref(3), dlrDate: '2606081330' } })));
  return { messageId, events };
}

// ---------------------------------------------------------------------------------------------
// reading the log and the read model

/**
 * The whole log, once the events named are visible in it (the store returns only what no
 * in-flight transaction anywhere in the cluster can still precede).
 */
async function readLog(mustInclude: readonly RecordedEvent[]): Promise<RecordedEvent[]> {
  const wanted = new Set(mustInclude.map((e) => e.eventId));
  return eventually(async () => {
    const log: RecordedEvent[] = [];
    for (let after = START; ; ) {
      const page = await store.readAll({ after, maxCount: 1000 });
      if (page.length === 0) break;
      log.push(...page);
      after = page[page.length - 1]!.position;
    }
    const ids = new Set(log.map((e) => e.eventId));
    return [...wanted].every((id) => ids.has(id)) ? log : undefined;
  });
}

async function project(batch: readonly RecordedEvent[]): Promise<number> {
  return (await database.db.transaction().execute((trx) => projectMessages(trx, batch))).applied;
}

async function messageRow(messageId: string) {
  return database.db.selectFrom('messages').selectAll().where('message_id', '=', messageId).executeTakeFirst();
}

async function usage(accountId: string): Promise<{ month: string; segments: string }[]> {
  return database.db.selectFrom('usage_monthly').select(['month', 'segments']).where('account_id', '=', accountId).orderBy('month').execute();
}

/** Every row of both read-model tables, in a fixed order. */
async function snapshot() {
  const [messages, usageRows] = await Promise.all([
    database.db.selectFrom('messages').selectAll().orderBy('message_id').execute(),
    database.db.selectFrom('usage_monthly').selectAll().orderBy('account_id').orderBy('month').execute(),
  ]);
  return { messages, usage: usageRows };
}

/** The view the pure fold gives for one stream's events. */
function folded(events: readonly RecordedEvent[]): MessageView {
  let view: MessageView | null = null;
  for (const e of events) view = evolveMessageView(view, MessageEvent.parse({ type: e.type, data: e.data }), e.revision);
  if (view === null) throw new Error('no view');
  return view;
}

// ---------------------------------------------------------------------------------------------

describe('projectMessages', () => {
  it('folds a whole lifecycle into one row equal to the pure fold of the stream', async () => {
    const accountId = randomUUID();
    const { messageId, events } = await sendMessage({ accountId, start: 10 });
    expect(events.map((e) => e.type)).toEqual(['MessageAccepted', 'MessageQueued', 'MessageDispatched', 'MessageSent', 'MessageDelivered']);

    const log = await readLog(events);
    expect(await project(log)).toBeGreaterThanOrEqual(1);

    const row = await messageRow(messageId);
    expect(row).toMatchObject({
      message_id: messageId,
      account_id: accountId,
      status: 'delivered',
      stream_revision: '4',
      created_at: new Date(at(10)),
      queued_at: new Date(at(10)),
      dispatched_at: new Date(at(11)),
      sent_at: new Date(at(12)),
      delivered_at: new Date(at(13)),
      updated_at: new Date(at(13)),
      provider_message_id: `p-${messageId}`,
      cost_usd: null,
    });
    expect(messageRowToView(row!)).toEqual(folded(events));
    expect(await database.db.selectFrom('messages').select('message_id').where('account_id', '=', accountId).execute()).toHaveLength(1);
    expect(await usage(accountId)).toEqual([{ month: '2026-06', segments: '1' }]);
  });

  it('turns a deleted message\'s row into a tombstone queries skip, in the same batch or a later one, and replays never revive it', async () => {
    const accountId = randomUUID();
    const early = await sendMessage({ accountId, start: 20 });
    const late = await sendMessage({ accountId, start: 30 });
    const deleteOf = (messageId: string) => execute({ type: 'DeleteMessage', data: { messageId, accountId, now: at(60) } });
    const earlyDeleted = await deleteOf(early.messageId);
    await project(await readLog([...early.events, ...earlyDeleted, ...late.events]));
    expect(await messageRow(early.messageId)).toMatchObject({ status: 'deleted', body: null });
    expect(await messageRow(late.messageId)).toMatchObject({ status: 'delivered' });

    const lateDeleted = await deleteOf(late.messageId);
    expect(await project(lateDeleted)).toBe(1);
    expect(await messageRow(late.messageId)).toMatchObject({ status: 'deleted', body: null, stream_revision: String(lateDeleted[0]!.revision) });

    const before = await snapshot();
    await project(await readLog(lateDeleted));
    await project(late.events);
    expect(await snapshot()).toEqual(before);
    expect(await findMessage(database.db, accountId, late.messageId)).toBeNull();
    expect((await listMessages(database.db, { accountId }, { offset: 0, limit: 10 })).total).toBe(0);
  });

  it('folds events of several messages spread over several batches', async () => {
    const accountId = randomUUID();
    const a = await sendMessage({ accountId, until: 'sent', start: 20 });
    const b = await sendMessage({ accountId, until: 'dispatched', start: 21 });
    // Interleave the two streams and cut the result into batches of two.
    const interleaved = [a.events[0]!, b.events[0]!, a.events[1]!, b.events[1]!, a.events[2]!, b.events[2]!, a.events[3]!];
    for (let i = 0; i < interleaved.length; i += 2) await project(interleaved.slice(i, i + 2));

    expect(messageRowToView((await messageRow(a.messageId))!)).toEqual({ ...folded(a.events), costUsd: null });
    expect(messageRowToView((await messageRow(b.messageId))!)).toEqual(folded(b.events));
    expect((await messageRow(a.messageId))?.status).toBe('sent');
    expect((await messageRow(b.messageId))?.status).toBe('dispatched');
  });

  it('ignores events of other streams and starts no row from a stream without its first event', async () => {
    const other = await store.appendToStream(`account-${randomUUID()}`, [{ eventId: randomUUID(), type: 'AccountOpened', data: {} }], {
      expectedRevision: 'no_stream',
    });
    const accountId = randomUUID();
    const { messageId, events } = await sendMessage({ accountId, until: 'sent' });
    const otherEvents = await readLog(events).then((log) => log.filter((e) => comparePositions(e.position, other.position) === 0));
    expect(otherEvents).toHaveLength(1);

    // Only the tail of the stream: nothing to start a view from.
    expect(await project([...otherEvents, ...events.slice(1)])).toBe(0);
    expect(await messageRow(messageId)).toBeUndefined();
  });

  it('replaying the log, or any old batch, leaves messages and usage_monthly exactly as they were', async () => {
    const accountId = randomUUID();
    const tight: BillingTerms = { monthlyAllowanceSegments: 1, overagePricePerSegmentUsd: 0.02 };
    const first = await sendMessage({ accountId, billing: tight, segments: 1, start: 30 });
    const second = await sendMessage({ accountId, billing: tight, segments: 3, start: 40 });
    const log = await readLog([...first.events, ...second.events]);

    await project(log);
    const before = await snapshot();
    expect((await messageRow(second.messageId))?.cost_usd).toBe('0.060000');
    expect(await usage(accountId)).toEqual([{ month: '2026-06', segments: '4' }]);

    // The whole log again from START, one batch.
    await project(log);
    expect(await snapshot()).toEqual(before);
    // The whole log again in small batches.
    for (let i = 0; i < log.length; i += 3) await project(log.slice(i, i + 3));
    expect(await snapshot()).toEqual(before);
    // An old prefix of one stream (accepted, queued, dispatched) must not move it back.
    await project(first.events.slice(0, 3));
    // Each event alone, in reverse order.
    for (const event of [...second.events].reverse()) await project([event]);
    expect(await snapshot()).toEqual(before);
    expect((await messageRow(first.messageId))?.status).toBe('delivered');
  });

  it('bills the overage on MessageSent: allowance 2, 0.01 per segment → null, null, 0.01 and 3 segments, once', async () => {
    const billing: BillingTerms = { monthlyAllowanceSegments: 2, overagePricePerSegmentUsd: 0.01 };

    // One account projected in one batch (usage kept in memory within the batch) …
    const oneBatch = randomUUID();
    const a: SentMessage[] = [];
    for (let i = 0; i < 3; i++) a.push(await sendMessage({ accountId: oneBatch, billing, until: 'sent', start: 100 + i * 10 }));
    // … another with every event in its own transaction (usage read back from the table).
    const eventByEvent = randomUUID();
    const b: SentMessage[] = [];
    for (let i = 0; i < 3; i++) b.push(await sendMessage({ accountId: eventByEvent, billing, until: 'sent', start: 200 + i * 10 }));

    const log = await readLog([...a, ...b].flatMap((m) => m.events));
    await project(log.filter((e) => a.some((m) => m.events.some((x) => x.eventId === e.eventId))));
    for (const e of log.filter((x) => b.some((m) => m.events.some((y) => y.eventId === x.eventId)))) await project([e]);

    for (const [accountId, messages] of [
      [oneBatch, a],
      [eventByEvent, b],
    ] as const) {
      const costs = [];
      for (const m of messages) costs.push((await messageRow(m.messageId))?.cost_usd);
      expect(costs).toEqual([null, null, '0.010000']);
      expect(messageRowToView((await messageRow(messages[2]!.messageId))!).costUsd).toBe(0.01);
      expect(await usage(accountId)).toEqual([{ month: '2026-06', segments: '3' }]);
    }

    const before = await snapshot();
    await project(log);
    for (const e of log) await project([e]);
    expect(await snapshot()).toEqual(before);
    expect(await usage(oneBatch)).toEqual([{ month: '2026-06', segments: '3' }]);
    expect(await usage(eventByEvent)).toEqual([{ month: '2026-06', segments: '3' }]);
  });

  it('bills nothing for a message that was never sent, and a delivery does not bill again', async () => {
    const accountId = randomUUID();
    const billing: BillingTerms = { monthlyAllowanceSegments: 0, overagePricePerSegmentUsd: 0.5 };
    const dispatched = await sendMessage({ accountId, billing, until: 'dispatched' });
    const delivered = await sendMessage({ accountId, billing, segments: 2, start: 5 });
    await project(await readLog([...dispatched.events, ...delivered.events]));
    expect((await messageRow(dispatched.messageId))?.cost_usd).toBeNull();
    expect((await messageRow(delivered.messageId))?.cost_usd).toBe('1.000000');
    expect(await usage(accountId)).toEqual([{ month: '2026-06', segments: '2' }]);
  });
});

describe('projectMessages timings', () => {
  const projectBatch = (batch: readonly RecordedEvent[]) => database.db.transaction().execute((trx) => projectMessages(trx, batch));

  it('reports the lifecycle timings of the events it applies, once: a replay or an old batch reports none', async () => {
    const { events } = await sendMessage({ accountId: randomUUID() });
    expect(events.map((e) => e.type)).toEqual(['MessageAccepted', 'MessageQueued', 'MessageDispatched', 'MessageSent', 'MessageDelivered']);

    const first = await projectBatch(events.slice(0, 3));
    // The whole stream again: its first three events are at or below the row's revision.
    const second = await projectBatch(events);
    const replay = await projectBatch(events);

    expect(first.timings).toEqual([
      { kind: 'transition', from: 'accepted', to: 'queued', seconds: 0 },
      { kind: 'transition', from: 'queued', to: 'dispatched', seconds: 1 },
    ]);
    expect(second.timings).toEqual([
      { kind: 'transition', from: 'dispatched', to: 'sent', seconds: 1 },
      { kind: 'transition', from: 'sent', to: 'delivered', seconds: 1 },
      { kind: 'end_to_end', seconds: 3 },
    ]);
    expect(replay).toEqual({ applied: 0, timings: [] });
  });

  it('hands a committed batch\'s result to onCommitted', async () => {
    const name = `messages-timings-${uniqueSuffix()}`;
    const { messageId, events } = await sendMessage({ accountId: randomUUID() });
    await readLog(events);
    const ends: number[] = [];
    const running = new ProjectionRunner({
      name,
      store,
      db: database.db,
      pool: database.pool,
      logger: silent,
      project: projectMessages,
      onCommitted: (_position, _count, projected) => {
        for (const t of projected.timings) if (t.kind === 'end_to_end') ends.push(t.seconds);
      },
    });
    try {
      running.start();
      await eventually(async () => ((await messageRow(messageId))?.status === 'delivered' ? true : undefined));
    } finally {
      await running.stop();
    }
    // The runner folds the whole log from START: this message's 3 s are among what it reported.
    expect(ends).toContain(3);
  });
});

describe('ProjectionRunner', () => {
  /** A projection that records what it was given, and can be told to fail after writing. */
  function recordingProjection() {
    const seen: RecordedEvent[] = [];
    let calls = 0;
    const control = { failAfterWriting: false };
    const project: ProjectBatch = async (trx, batch) => {
      calls += 1;
      await projectMessages(trx, batch);
      if (control.failAfterWriting) throw new Error('boom after writing the batch');
      seen.push(...batch);
    };
    return { project, seen, control, calls: () => calls };
  }

  function capturingLogger() {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    return { logger, lines };
  }

  function runner(name: string, project: ProjectBatch, logger = silent, onCommitted?: () => void): ProjectionRunner {
    return new ProjectionRunner({ name, store, db: database.db, pool: database.pool, project, logger, maxBatch: 50, onCommitted });
  }

  async function eventuallyStatus(messageId: string, status: string, timeoutMs = 10_000): Promise<void> {
    await eventually(async () => ((await messageRow(messageId))?.status === status ? true : undefined), timeoutMs);
  }

  it('runs end to end, stops, and a new runner resumes from the checkpoint without reprocessing', async () => {
    const name = `messages-e2e-${uniqueSuffix()}`;
    const { logger, lines } = capturingLogger();
    const first = recordingProjection();
    const one = runner(name, first.project, logger);
    const accountId = randomUUID();
    let m1: SentMessage;
    try {
      one.start();
      m1 = await sendMessage({ accountId, until: 'sent' });
      await eventuallyStatus(m1.messageId, 'sent');
    } finally {
      await one.stop();
    }
    const checkpoint = await readCheckpoint(database.db, name);
    expect(checkpoint).toEqual(one.position);
    expect(first.seen.map((e) => e.eventId)).toEqual(expect.arrayContaining(m1.events.map((e) => e.eventId)));
    expect(comparePositions(checkpoint, first.seen[first.seen.length - 1]!.position)).toBe(0);

    // While nothing runs: the first message is delivered, a second one goes all the way.
    const later = [
      ...(await execute({ type: 'RecordMessageDelivered', data: { messageId: m1.messageId, accountId, now: at(9), dlrDate: null } })),
    ];
    const m2 = await sendMessage({ accountId, start: 20 });
    later.push(...m2.events);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await messageRow(m1.messageId))?.status).toBe('sent');
    expect(await messageRow(m2.messageId)).toBeUndefined();

    const second = recordingProjection();
    const two = runner(name, second.project, logger);
    try {
      two.start();
      await eventuallyStatus(m2.messageId, 'delivered');
      await eventuallyStatus(m1.messageId, 'delivered');
      await eventually(async () => (second.seen.length >= later.length ? true : undefined));
    } finally {
      await two.stop();
    }
    // Exactly the events appended while it was down, in log order: nothing before the checkpoint.
    expect(second.seen.map((e) => e.eventId)).toEqual(later.map((e) => e.eventId));
    expect(second.seen.every((e) => comparePositions(e.position, checkpoint) > 0)).toBe(true);
    expect(await readCheckpoint(database.db, name)).toEqual(second.seen[second.seen.length - 1]!.position);
    expect(lines).toEqual([]);
  });

  it('a batch that throws after writing commits neither rows nor checkpoint, and is retried from the checkpoint', async () => {
    const name = `messages-failing-${uniqueSuffix()}`;
    const recording = recordingProjection();
    recording.control.failAfterWriting = true;
    let committed = 0;
    const failing = runner(name, recording.project, silent, () => void (committed += 1));
    const accountId = randomUUID();
    const m = await sendMessage({ accountId, until: 'sent' });
    await readLog(m.events);
    try {
      failing.start();
      // Two attempts means the first one's transaction is over (rolled back) and it was retried.
      await eventually(async () => (recording.calls() >= 2 ? true : undefined));
      expect(await messageRow(m.messageId)).toBeUndefined();
      expect(await usage(accountId)).toEqual([]);
      expect(await database.db.selectFrom('checkpoints').selectAll().where('name', '=', name).executeTakeFirst()).toBeUndefined();
      expect(committed).toBe(0);

      recording.control.failAfterWriting = false;
      await eventuallyStatus(m.messageId, 'sent');
      await eventually(async () => {
        const checkpoint = await readCheckpoint(database.db, name);
        return comparePositions(checkpoint, m.events[m.events.length - 1]!.position) >= 0 ? true : undefined;
      });
    } finally {
      await failing.stop();
    }
    expect(committed).toBeGreaterThan(0);
    expect(await usage(accountId)).toEqual([{ month: '2026-06', segments: '1' }]);
  });

  it('two runners of one name: only the lease holder projects; the other takes over when it stops', async () => {
    const name = `messages-lease-${uniqueSuffix()}`;
    const a = recordingProjection();
    const b = recordingProjection();
    const runnerA = runner(name, a.project);
    const runnerB = runner(name, b.project);
    const accountId = randomUUID();
    try {
      runnerA.start();
      await eventually(async () => (runnerA.position !== null ? true : undefined));
      runnerB.start();

      const m3 = await sendMessage({ accountId, until: 'sent' });
      await eventuallyStatus(m3.messageId, 'sent');
      // B retries the lease every second; give it more than one try.
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      expect(b.calls()).toBe(0);
      expect(runnerB.position).toBeNull();
      expect(a.seen.map((e) => e.eventId)).toEqual(expect.arrayContaining(m3.events.map((e) => e.eventId)));

      await runnerA.stop();
      const handedOver = await readCheckpoint(database.db, name);
      const m4 = await sendMessage({ accountId, start: 60 });
      await eventuallyStatus(m4.messageId, 'delivered', 15_000);
      await eventually(async () => (b.seen.length >= m4.events.length ? true : undefined));

      expect(runnerB.position).not.toBeNull();
      // B started at A's checkpoint: it saw M4 and nothing A had already projected.
      expect(b.seen.map((e) => e.eventId)).toEqual(m4.events.map((e) => e.eventId));
      expect(b.seen.every((e) => comparePositions(e.position, handedOver) > 0)).toBe(true);
    } finally {
      await runnerA.stop();
      await runnerB.stop();
    }
  });

  /** The back-off grows with consecutive failures only; a committed batch resets it. */
  it('backs off from scratch after batches committed since the last failure', async () => {
    const name = `messages-backoff-${uniqueSuffix()}`;
    const calls: { at: number; ok: boolean }[] = [];
    const failOn = new Set([1, 3]);
    const project: ProjectBatch = async (trx, batch) => {
      const n = calls.length + 1;
      calls.push({ at: Date.now(), ok: !failOn.has(n) });
      if (failOn.has(n)) throw new Error(`failure on call ${n}`);
      await projectMessages(trx, batch);
    };
    const flaky = runner(name, project);
    const accountId = randomUUID();
    try {
      await readLog((await sendMessage({ accountId, until: 'queued' })).events);
      flaky.start();
      await eventually(async () => (calls.length >= 2 ? true : undefined)); // failed once, then committed
      const m = await sendMessage({ accountId, until: 'queued', start: 5 });
      await eventuallyStatus(m.messageId, 'queued');
    } finally {
      await flaky.stop();
    }
    expect(calls.map((c) => c.ok).slice(0, 4)).toEqual([false, true, false, true]);
    const firstWait = calls[1]!.at - calls[0]!.at;
    const secondWait = calls[3]!.at - calls[2]!.at;
    expect(firstWait).toBeGreaterThanOrEqual(350);
    // A failure after a success is a first failure again: the same ~400 ms wait, not ~800 ms.
    expect(secondWait).toBeLessThan(650);
  });

  it('releases the lease on stop, so a runner of the same name can start at once', async () => {
    const name = `messages-stop-${uniqueSuffix()}`;
    const first = runner(name, recordingProjection().project);
    first.start();
    await eventually(async () => (first.position !== null ? true : undefined));
    await first.stop();

    const locks = await sql<{ n: string }>`select count(*)::text as n from pg_locks where locktype = 'advisory' and granted
      and database = (select oid from pg_database where datname = current_database())`.execute(database.db);
    expect(locks.rows[0]?.n).toBe('0');
  });
});
