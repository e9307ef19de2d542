import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { START, WrongExpectedRevisionError, comparePositions, type EventToAppend } from './event-store.port';
import { PostgresEventStore } from './postgres-event-store';

/**
 * Concurrent appends share statements (group commit). Whatever lands in one batch — new streams,
 * appends at a revision, conflicting pairs, retries of appends that already succeeded — each
 * call must get exactly the answer it would get alone.
 */
describe('PostgresEventStore group commit', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.pool, { maxConcurrentStatements: 2 });
  });

  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  const events = (n: number): EventToAppend[] =>
    Array.from({ length: n }, (_, i) => ({ eventId: randomUUID(), type: 'Thing', data: { i } }));

  it('gives every append of a crowded batch its own correct answer', async () => {
    const fresh = Array.from({ length: 150 }, () => ({ stream: `s-${randomUUID()}`, events: events(2) }));
    const contested = Array.from({ length: 20 }, () => `c-${randomUUID()}`);
    for (const stream of contested) await store.appendToStream(stream, events(1), { expectedRevision: 'no_stream' });
    const retried = { stream: `r-${randomUUID()}`, events: events(2) };
    const first = await store.appendToStream(retried.stream, retried.events, { expectedRevision: 'no_stream' });

    const outcomes = await Promise.allSettled([
      ...fresh.map((f) => store.appendToStream(f.stream, f.events, { expectedRevision: 'no_stream' })),
      // Two writers per contested stream, both expecting revision 0: exactly one may win.
      ...contested.flatMap((stream) => [
        store.appendToStream(stream, events(1), { expectedRevision: 0n }),
        store.appendToStream(stream, events(1), { expectedRevision: 0n }),
      ]),
      // The retry of an append that already succeeded answers as the first time.
      store.appendToStream(retried.stream, retried.events, { expectedRevision: 'no_stream' }),
      // An expectation beyond the stream's end is refused.
      store.appendToStream(contested[0]!, events(1), { expectedRevision: 5n }),
    ]);

    const freshResults = outcomes.slice(0, fresh.length);
    expect(freshResults.every((o) => o.status === 'fulfilled' && o.value.nextExpectedRevision === 1n)).toBe(true);

    const pairs = outcomes.slice(fresh.length, fresh.length + contested.length * 2);
    for (let i = 0; i < contested.length; i++) {
      const pair = [pairs[2 * i]!, pairs[2 * i + 1]!];
      expect(pair.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const rejected = pair.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect((rejected.reason as WrongExpectedRevisionError).actual).toBe(1n);
    }

    const retry = outcomes[fresh.length + contested.length * 2]!;
    expect(retry).toEqual({ status: 'fulfilled', value: first });
    const beyond = outcomes[fresh.length + contested.length * 2 + 1]!;
    expect(beyond.status).toBe('rejected');
    expect((beyond as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevisionError);

    // Every stream is dense and in order, and the global log holds each event once.
    for (const f of fresh) {
      const stored = await store.readStream(f.stream);
      expect(stored.map((e) => e.eventId)).toEqual(f.events.map((e) => e.eventId));
      expect(stored.map((e) => e.revision)).toEqual([0n, 1n]);
    }
    for (const stream of contested) expect((await store.readStream(stream)).map((e) => e.revision)).toEqual([0n, 1n]);
    const all = await store.readAll({ after: START, maxCount: 10_000 });
    expect(new Set(all.map((e) => e.eventId)).size).toBe(all.length);
    for (let i = 1; i < all.length; i++) expect(comparePositions(all[i - 1]!.position, all[i]!.position)).toBeLessThan(0);
  });

  it('answers batched whole-stream reads per stream', async () => {
    const streams = Array.from({ length: 40 }, () => `b-${randomUUID()}`);
    await Promise.all(streams.map((s, i) => store.appendToStream(s, events((i % 3) + 1), { expectedRevision: 'no_stream' })));
    const reads = await Promise.all([...streams, 'missing-stream'].map((s) => store.readStream(s)));
    reads.slice(0, streams.length).forEach((read, i) => {
      expect(read.map((e) => e.streamId)).toEqual(Array((i % 3) + 1).fill(streams[i]));
      expect(read.map((e) => e.revision)).toEqual(Array.from({ length: (i % 3) + 1 }, (_, r) => BigInt(r)));
    });
    expect(reads[streams.length]).toEqual([]);
  });
});
