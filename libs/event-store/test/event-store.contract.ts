import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { eventually, uniqueSuffix } from '@reach/testing';
import {
  START,
  WrongExpectedRevisionError,
  comparePositions,
  type AllSubscription,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type LogPosition,
  type RecordedEvent,
} from '../src/event-store.port';

export interface EventStoreUnderTest {
  readonly store: EventStore;
  teardown(): Promise<void>;
}

/**
 * The one behaviour both adapters promise. Every test works on streams of its own (random
 * suffix) and filters the global log down to them, so the store may be shared with anything.
 * Reads of the global log go through `eventually`: a store may hold back events that are
 * committed but not yet safe to hand out (PostgreSQL waits for older transactions to finish).
 */
export function describeEventStoreContract(name: string, setup: () => Promise<EventStoreUnderTest>): void {
  describe(name, () => {
    let store: EventStore;
    let teardown: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const underTest = await setup();
      store = underTest.store;
      teardown = () => underTest.teardown();
    }, 300_000);

    afterAll(async () => {
      await teardown?.();
    });

    describe('appendToStream', () => {
      it('creates a stream with no_stream, revisions from 0', async () => {
        const streamId = newStreamId('create');
        const events = [newEvent('Created', { n: 1 }, { correlationId: 'c-1' }), newEvent('Changed', { n: 2, nested: { list: [1, 'two', null] } })];

        const result = await store.appendToStream(streamId, events, { expectedRevision: 'no_stream' });

        expect(result.nextExpectedRevision).toBe(1n);
        const read = await store.readStream(streamId);
        expect(read.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
        expect(read.map((event) => event.revision)).toEqual([0n, 1n]);
        expect(read.map((event) => event.streamId)).toEqual([streamId, streamId]);
        expect(read.map((event) => event.type)).toEqual(['Created', 'Changed']);
        expect(read.map((event) => event.data)).toEqual([{ n: 1 }, { n: 2, nested: { list: [1, 'two', null] } }]);
        expect(read[0]!.metadata).toEqual({ correlationId: 'c-1' });
        expect(read[1]!.metadata).toEqual({});
        expect(read[0]!.createdAt).toBeInstanceOf(Date);
        expect(Math.abs(read[0]!.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
        expect(comparePositions(read[0]!.position, read[1]!.position)).toBeLessThan(0);
      });

      it('rejects no_stream on an existing stream with a typed error', async () => {
        const streamId = newStreamId('exists');
        await store.appendToStream(streamId, [newEvent(), newEvent()], { expectedRevision: 'no_stream' });

        await expectConflict(store.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' }), {
          streamId,
          expected: 'no_stream',
          actual: 1n,
        });
        expect(await store.readStream(streamId)).toHaveLength(2);
      });

      it('appends at the exact expected revision', async () => {
        const streamId = newStreamId('exact');
        const first = await store.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' });
        expect(first.nextExpectedRevision).toBe(0n);

        const second = await store.appendToStream(streamId, [newEvent()], { expectedRevision: 0n });
        const third = await store.appendToStream(streamId, [newEvent(), newEvent()], { expectedRevision: second.nextExpectedRevision });

        expect(second.nextExpectedRevision).toBe(1n);
        expect(third.nextExpectedRevision).toBe(3n);
        expect((await store.readStream(streamId)).map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n]);
      });

      it('rejects a stale, a future or a missing-stream revision with the actual revision', async () => {
        const streamId = newStreamId('stale');
        await store.appendToStream(streamId, [newEvent(), newEvent(), newEvent()], { expectedRevision: 'no_stream' });

        await expectConflict(store.appendToStream(streamId, [newEvent()], { expectedRevision: 0n }), { streamId, expected: 0n, actual: 2n });
        await expectConflict(store.appendToStream(streamId, [newEvent()], { expectedRevision: 5n }), { streamId, expected: 5n, actual: 2n });
        const missing = newStreamId('missing');
        await expectConflict(store.appendToStream(missing, [newEvent()], { expectedRevision: 0n }), {
          streamId: missing,
          expected: 0n,
          actual: 'no_stream',
        });
        expect(await store.readStream(streamId)).toHaveLength(3);
        expect(await store.readStream(missing)).toEqual([]);
      });

      it('lets exactly one of concurrent appends at the same expected revision win', async () => {
        const streamId = newStreamId('race');
        await store.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' });

        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, () => store.appendToStream(streamId, [newEvent(), newEvent()], { expectedRevision: 0n })),
        );

        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(7);
        for (const error of lost) {
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
          expect(error).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', streamId, expected: 0n, actual: 2n });
        }
        expect((await store.readStream(streamId)).map((event) => event.revision)).toEqual([0n, 1n, 2n]);
      });

      it('lets exactly one of concurrent no_stream appends create the stream', async () => {
        const streamId = newStreamId('race-new');

        const outcomes = await Promise.allSettled(
          Array.from({ length: 6 }, () => store.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' })),
        );

        expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') {
            expect(outcome.reason).toBeInstanceOf(WrongExpectedRevisionError);
            expect(outcome.reason).toMatchObject({ streamId, expected: 'no_stream', actual: 0n });
          }
        }
        expect(await store.readStream(streamId)).toHaveLength(1);
      });

      it('appends concurrently with any, keeping revisions dense', async () => {
        const streamId = newStreamId('any');
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.appendToStream(streamId, [newEvent()], { expectedRevision: 'any' })),
        );

        expect(results.map((result) => result.nextExpectedRevision).sort(compareBigints)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
        expect((await store.readStream(streamId)).map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
      });

      it('treats a retry of a successful append (same ids, same expectation) as a success', async () => {
        const streamId = newStreamId('retry');
        const batch = [newEvent(), newEvent()];
        const first = await store.appendToStream(streamId, batch, { expectedRevision: 'no_stream' });
        const retried = await store.appendToStream(streamId, batch, { expectedRevision: 'no_stream' });
        expect(retried.nextExpectedRevision).toBe(first.nextExpectedRevision);

        const next = [newEvent()];
        await store.appendToStream(streamId, next, { expectedRevision: 1n });
        const retriedNext = await store.appendToStream(streamId, next, { expectedRevision: 1n });

        expect(retriedNext.nextExpectedRevision).toBe(2n);
        expect((await store.readStream(streamId)).map((event) => event.eventId)).toEqual([...batch, ...next].map((event) => event.eventId));
      });

      it('rejects a batch that only partly overlaps events already appended', async () => {
        const streamId = newStreamId('overlap');
        const [a, b] = [newEvent(), newEvent()];
        await store.appendToStream(streamId, [a, b], { expectedRevision: 'no_stream' });

        await expectConflict(store.appendToStream(streamId, [a, newEvent()], { expectedRevision: 'no_stream' }), {
          streamId,
          expected: 'no_stream',
          actual: 1n,
        });
        await expectConflict(store.appendToStream(streamId, [b, newEvent()], { expectedRevision: 0n }), { streamId, expected: 0n, actual: 1n });
        expect((await store.readStream(streamId)).map((event) => event.eventId)).toEqual([a.eventId, b.eventId]);
      });

      it('checks the expectation of an empty append and returns the current revision', async () => {
        const streamId = newStreamId('empty');
        expect((await store.appendToStream(streamId, [], { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(-1n);
        await expectConflict(store.appendToStream(streamId, [], { expectedRevision: 0n }), { streamId, expected: 0n, actual: 'no_stream' });

        await store.appendToStream(streamId, [newEvent(), newEvent()], { expectedRevision: 'no_stream' });

        expect((await store.appendToStream(streamId, [], { expectedRevision: 1n })).nextExpectedRevision).toBe(1n);
        expect((await store.appendToStream(streamId, [], { expectedRevision: 'any' })).nextExpectedRevision).toBe(1n);
        await expectConflict(store.appendToStream(streamId, [], { expectedRevision: 'no_stream' }), { streamId, expected: 'no_stream', actual: 1n });
        await expectConflict(store.appendToStream(streamId, [], { expectedRevision: 0n }), { streamId, expected: 0n, actual: 1n });
        expect(await store.readStream(streamId)).toHaveLength(2);
      });
    });

    describe('readStream', () => {
      it('reads in revision order (past revision 9), from a revision, up to a count', async () => {
        const streamId = newStreamId('read');
        const events = Array.from({ length: 12 }, (_, n) => newEvent('Counted', { n }));
        await store.appendToStream(streamId, events.slice(0, 2), { expectedRevision: 'no_stream' });
        await store.appendToStream(streamId, events.slice(2), { expectedRevision: 1n });

        const all = await store.readStream(streamId);
        expect(all.map((event) => event.data)).toEqual(events.map((_, n) => ({ n })));
        expect(all.map((event) => event.revision)).toEqual(events.map((_, n) => BigInt(n)));
        expect((await store.readStream(streamId, { fromRevision: 9n })).map((event) => event.revision)).toEqual([9n, 10n, 11n]);
        expect((await store.readStream(streamId, { maxCount: 2 })).map((event) => event.revision)).toEqual([0n, 1n]);
        expect((await store.readStream(streamId, { fromRevision: 3n, maxCount: 1 })).map((event) => event.eventId)).toEqual([events[3]!.eventId]);
        expect(await store.readStream(streamId, { fromRevision: 12n })).toEqual([]);
        await expectConflict(store.appendToStream(streamId, [newEvent()], { expectedRevision: 9n }), { streamId, expected: 9n, actual: 11n });
        expect((await store.appendToStream(streamId, [newEvent()], { expectedRevision: 'any' })).nextExpectedRevision).toBe(12n);
      });

      it('returns an empty array for a stream that does not exist', async () => {
        expect(await store.readStream(newStreamId('nothing'))).toEqual([]);
      });
    });

    describe('readAll', () => {
      it('pages from START in log order without repeating an event', async () => {
        const streams = [newStreamId('all-a'), newStreamId('all-b')];
        const appended = await appendAlternately(store, streams, 6);

        const ours = await eventually(async () => {
          const read = await readAllPages(store, START, 3, (event) => streams.includes(event.streamId), appended.length);
          return read.matching.length === appended.length ? read : undefined;
        });

        expect(ours.matching.map((event) => event.eventId)).toEqual(appended);
        expectStrictlyIncreasing(ours.all);
        expect(new Set(ours.all.map((event) => event.eventId)).size).toBe(ours.all.length);
      });

      it('returns only events strictly after the given position', async () => {
        const streamId = newStreamId('after');
        const marker = await store.appendToStream(newStreamId('marker'), [newEvent()], { expectedRevision: 'no_stream' });
        const events = Array.from({ length: 4 }, () => newEvent());
        for (const [revision, event] of events.entries()) {
          await store.appendToStream(streamId, [event], { expectedRevision: revision === 0 ? 'no_stream' : BigInt(revision - 1) });
        }

        const fromMarker = await eventually(async () => {
          const read = await readAllPages(store, marker.position, 2, (event) => event.streamId === streamId, events.length);
          return read.matching.length === events.length ? read : undefined;
        });
        expect(fromMarker.matching.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
        expect(fromMarker.all.every((event) => comparePositions(event.position, marker.position) > 0)).toBe(true);
        expectStrictlyIncreasing(fromMarker.all);

        const second = fromMarker.matching[1]!;
        const afterSecond = await readAllPages(store, second.position, 2, (event) => event.streamId === streamId, 2);
        expect(afterSecond.matching.map((event) => event.eventId)).toEqual([events[2]!.eventId, events[3]!.eventId]);
      });
    });

    describe('subscribeToAll', () => {
      it('yields existing then live events in log order, in bounded batches, until closed', async () => {
        const streamId = newStreamId('live');
        const marker = await store.appendToStream(newStreamId('marker'), [newEvent()], { expectedRevision: 'no_stream' });
        const existing = [newEvent(), newEvent(), newEvent()];
        await store.appendToStream(streamId, existing, { expectedRevision: 'no_stream' });

        const subscription = store.subscribeToAll({ after: marker.position, maxBatch: 2 });
        const collected = collect(subscription, (event) => event.streamId === streamId);
        await eventually(async () => (collected.events.length >= 3 ? true : undefined));

        const live = [newEvent(), newEvent()];
        await store.appendToStream(streamId, live.slice(0, 1), { expectedRevision: 2n });
        await store.appendToStream(streamId, live.slice(1), { expectedRevision: 3n });
        await eventually(async () => (collected.events.length >= 5 ? true : undefined));

        await subscription.close();
        expect(await collected.done).toBeUndefined();
        expect(collected.events.map((event) => event.eventId)).toEqual([...existing, ...live].map((event) => event.eventId));
        expect(collected.all.every((event) => comparePositions(event.position, marker.position) > 0)).toBe(true);
        expectStrictlyIncreasing(collected.all);
        expect(collected.batchSizes.every((size) => size >= 1 && size <= 2)).toBe(true);
      });

      it('ends promptly when closed while waiting, and close is idempotent', async () => {
        const streamId = newStreamId('idle');
        const appended = await store.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' });
        const subscription = store.subscribeToAll({ after: appended.position });
        const collected = collect(subscription, (event) => event.streamId === streamId);
        await new Promise((resolve) => setTimeout(resolve, 100));

        const startedClosing = Date.now();
        await subscription.close();
        expect(await collected.done).toBeUndefined();
        await subscription.close();

        expect(Date.now() - startedClosing).toBeLessThan(2_000);
        expect(collected.events).toEqual([]);
      });
    });

    it('orders the log consistently with every stream, for random interleavings of appends', async () => {
      const command = fc.record({ stream: fc.nat({ max: 2 }), count: fc.integer({ min: 1, max: 3 }) });
      // Commands in one group run concurrently (with `any`); a group of one states its exact revision.
      const groups = fc.array(fc.array(command, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 });

      await fc.assert(
        fc.asyncProperty(groups, async (plan) => {
          const streams = [0, 1, 2].map((n) => newStreamId(`prop${n}`));
          const revisions = new Map<string, bigint>();
          const marker = await store.appendToStream(newStreamId('marker'), [newEvent()], { expectedRevision: 'no_stream' });
          let total = 0;
          for (const group of plan) {
            await Promise.all(
              group.map(async ({ stream, count }) => {
                const streamId = streams[stream]!;
                const current = revisions.get(streamId);
                const expectedRevision: ExpectedRevision = group.length > 1 ? 'any' : (current ?? 'no_stream');
                const result = await store.appendToStream(streamId, Array.from({ length: count }, () => newEvent()), { expectedRevision });
                if (current === undefined || result.nextExpectedRevision > current) revisions.set(streamId, result.nextExpectedRevision);
              }),
            );
            total += group.reduce((sum, { count }) => sum + count, 0);
          }

          const read = await eventually(async () => {
            const page = await readAllPages(store, marker.position, 7, (event) => streams.includes(event.streamId), total);
            return page.matching.length === total ? page : undefined;
          });

          expectStrictlyIncreasing(read.all);
          for (const streamId of streams) {
            const inLog = read.matching.filter((event) => event.streamId === streamId);
            expect(inLog.map((event) => event.revision)).toEqual(inLog.map((_, n) => BigInt(n)));
            expect(inLog.map((event) => event.eventId)).toEqual((await store.readStream(streamId)).map((event) => event.eventId));
          }
        }),
        { numRuns: 12 },
      );
    }, 120_000);

    it('closes idempotently (the store stays usable until its teardown)', async () => {
      const subscription = store.subscribeToAll({ after: START, maxBatch: 1 });
      await subscription.close();
      await subscription.close();
    });
  });
}

function newStreamId(label: string): string {
  return `contract-${label}-${uniqueSuffix()}`;
}

function newEvent(type = 'Tested', data: unknown = { at: randomUUID() }, metadata?: Record<string, unknown>): EventToAppend {
  return { eventId: randomUUID(), type, data, ...(metadata ? { metadata } : {}) };
}

function compareBigints(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function expectConflict(
  append: Promise<unknown>,
  expected: { streamId: string; expected: ExpectedRevision; actual: bigint | 'no_stream' },
): Promise<void> {
  const error = await append.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(WrongExpectedRevisionError);
  const conflict = error as WrongExpectedRevisionError;
  expect(conflict.code).toBe('WRONG_EXPECTED_REVISION');
  expect({ streamId: conflict.streamId, expected: conflict.expected, actual: conflict.actual }).toEqual(expected);
}

function expectStrictlyIncreasing(events: readonly RecordedEvent[]): void {
  for (let n = 1; n < events.length; n++) {
    expect(comparePositions(events[n - 1]!.position, events[n]!.position)).toBeLessThan(0);
  }
}

async function appendAlternately(store: EventStore, streams: readonly string[], count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const streamId = streams[n % streams.length]!;
    const revision = Math.floor(n / streams.length);
    const event = newEvent();
    await store.appendToStream(streamId, [event], { expectedRevision: revision === 0 ? 'no_stream' : BigInt(revision - 1) });
    ids.push(event.eventId);
  }
  return ids;
}

/**
 * Pages through the log from `after` until `wanted` matching events are seen or the log ends.
 * `all` keeps every event read (any stream) to check order and uniqueness across pages.
 */
async function readAllPages(
  store: EventStore,
  after: LogPosition,
  pageSize: number,
  matches: (event: RecordedEvent) => boolean,
  wanted: number,
): Promise<{ all: RecordedEvent[]; matching: RecordedEvent[] }> {
  const all: RecordedEvent[] = [];
  const matching: RecordedEvent[] = [];
  let position = after;
  for (;;) {
    const page = await store.readAll({ after: position, maxCount: pageSize });
    expect(page.length).toBeLessThanOrEqual(pageSize);
    all.push(...page);
    matching.push(...page.filter(matches));
    const last = page[page.length - 1];
    if (!last || page.length < pageSize || matching.length >= wanted) return { all, matching };
    position = last.position;
  }
}

interface Collected {
  readonly all: RecordedEvent[];
  readonly events: RecordedEvent[];
  readonly batchSizes: number[];
  /** Resolves with undefined when the iteration ends, or with the error that ended it. */
  readonly done: Promise<unknown>;
}

function collect(subscription: AllSubscription, matches: (event: RecordedEvent) => boolean): Collected {
  const all: RecordedEvent[] = [];
  const events: RecordedEvent[] = [];
  const batchSizes: number[] = [];
  const done = (async () => {
    for await (const batch of subscription) {
      batchSizes.push(batch.length);
      all.push(...batch);
      events.push(...batch.filter(matches));
    }
  })().then(
    () => undefined,
    (error: unknown) => error ?? new Error('subscription failed'),
  );
  return { all, events, batchSizes, done };
}
