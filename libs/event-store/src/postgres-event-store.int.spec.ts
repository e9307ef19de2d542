import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createTestDatabase, eventually, uniqueSuffix, type TestDatabase } from '@reach/testing';
import { describeEventStoreContract } from '../test/event-store.contract';
import { START, WrongExpectedRevisionError, comparePositions, type EventToAppend, type RecordedEvent } from './event-store.port';
import { PostgresEventStore } from './postgres-event-store';

describeEventStoreContract('PostgresEventStore contract', async () => {
  const database = await createTestDatabase();
  const store = new PostgresEventStore(database.pool, { pollIntervalMs: 5 });
  return {
    store,
    async teardown() {
      await store.close();
      await database.drop();
    },
  };
});

describe('PostgresEventStore', () => {
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

  it('positions an append at its last event; one transaction gives one commit', async () => {
    const streamId = newStreamId();
    const result = await store.appendToStream(streamId, [newEvent(), newEvent(), newEvent()], { expectedRevision: 'no_stream' });

    const read = await store.readStream(streamId);
    expect(read.map((event) => event.position.commit)).toEqual([result.position.commit, result.position.commit, result.position.commit]);
    expect(read[2]!.position).toEqual(result.position);
    expect(read.map((event) => event.position.prepare)).toEqual([...read.map((event) => event.position.prepare)].sort(compareBigints));
  });

  it('returns the original result to a retried append', async () => {
    const streamId = newStreamId();
    const batch = [newEvent(), newEvent()];
    const first = await store.appendToStream(streamId, batch, { expectedRevision: 'no_stream' });
    await store.appendToStream(streamId, [newEvent()], { expectedRevision: 1n });

    expect(await store.appendToStream(streamId, batch, { expectedRevision: 'no_stream' })).toEqual(first);
    expect(await store.appendToStream(streamId, batch, { expectedRevision: 'any' })).toEqual(first);
    expect(await store.readStream(streamId)).toHaveLength(3);
  });

  it('rejects event ids already used in another stream', async () => {
    const taken = newEvent();
    await store.appendToStream(newStreamId(), [taken], { expectedRevision: 'no_stream' });
    const streamId = newStreamId();

    for (const expectedRevision of ['no_stream', 'any'] as const) {
      const error = await store.appendToStream(streamId, [newEvent(), taken], { expectedRevision }).catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ streamId, expected: expectedRevision, actual: 'no_stream' });
    }
    expect(await store.readStream(streamId)).toEqual([]);
  });

  it('rejects malformed appends before touching the database', async () => {
    const streamId = newStreamId();
    const event = newEvent();
    await expect(store.appendToStream(streamId, [{ ...event, eventId: 'not-a-uuid' }], { expectedRevision: 'any' })).rejects.toThrow(TypeError);
    await expect(store.appendToStream(streamId, [event, event], { expectedRevision: 'any' })).rejects.toThrow(TypeError);
    await expect(store.appendToStream(streamId, [{ ...event, data: undefined }], { expectedRevision: 'any' })).rejects.toThrow(TypeError);
    await expect(store.appendToStream(streamId, [event], { expectedRevision: -1n })).rejects.toThrow(RangeError);
    expect(await store.readStream(streamId)).toEqual([]);
  });

  it('parses rows into bigints, dates and JSON', async () => {
    const streamId = newStreamId();
    const data = { text: 'ünïcødé "quoted" \\ back', big: '12345678901234567890', list: [1, { deep: true }], none: null };
    await store.appendToStream(streamId, [{ eventId: randomUUID(), type: 'Parsed', data, metadata: { tenant: 't-1', n: 3 } }], {
      expectedRevision: 'no_stream',
    });

    const [event] = await store.readStream(streamId);
    expect(event).toBeDefined();
    expect(typeof event!.revision).toBe('bigint');
    expect(typeof event!.position.commit).toBe('bigint');
    expect(typeof event!.position.prepare).toBe('bigint');
    expect(event!.createdAt).toBeInstanceOf(Date);
    expect(event!.data).toEqual(data);
    expect(event!.metadata).toEqual({ tenant: 't-1', n: 3 });
  });

  it('never skips an event whose transaction commits after a later-started one', async () => {
    const marker = await store.appendToStream(newStreamId(), [newEvent()], { expectedRevision: 'no_stream' });
    const slowStream = newStreamId();
    const fastStream = newStreamId();
    const subscription = store.subscribeToAll({ after: marker.position, maxBatch: 10 });
    const seen: RecordedEvent[] = [];
    const tailing = (async () => {
      for await (const batch of subscription) seen.push(...batch.filter((event) => [slowStream, fastStream].includes(event.streamId)));
    })();

    const slow = await database.pool.connect();
    try {
      await slow.query('begin');
      // The slow transaction takes its id first, then the fast one commits an event before it.
      await slow.query('select pg_current_xact_id()');
      const fast = await store.appendToStream(fastStream, [newEvent()], { expectedRevision: 'no_stream' });
      const slowEventId = randomUUID();
      await slow.query(
        `insert into events (stream_id, revision, event_id, type, data) values ($1, 0, $2, 'Slow', '{}'::jsonb)`,
        [slowStream, slowEventId],
      );

      const whileOpen = await store.readAll({ after: marker.position, maxCount: 1000 });
      expect(whileOpen.some((event) => event.streamId === fastStream || event.streamId === slowStream)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen).toEqual([]);

      await slow.query('commit');

      const ours = await eventually(async () => {
        const read = await store.readAll({ after: marker.position, maxCount: 1000 });
        const matching = read.filter((event) => event.streamId === fastStream || event.streamId === slowStream);
        return matching.length === 2 ? matching : undefined;
      });
      expect(ours.map((event) => event.streamId)).toEqual([slowStream, fastStream]);
      expect(ours[1]!.position).toEqual(fast.position);
      expect(comparePositions(ours[0]!.position, ours[1]!.position)).toBeLessThan(0);
      // The slow event has the later global position but the earlier transaction.
      expect(ours[0]!.position.prepare > ours[1]!.position.prepare).toBe(true);

      await eventually(async () => (seen.length === 2 ? true : undefined));
      expect(seen.map((event) => event.eventId)).toEqual(ours.map((event) => event.eventId));
    } finally {
      await slow.query('rollback').catch(() => undefined);
      slow.release();
      await subscription.close();
      await tailing;
    }
  });

  it('reads START as the beginning of the log', async () => {
    const first = await store.readAll({ after: START, maxCount: 1 });
    const all = await store.readAll({ after: { commit: -1n, prepare: 0n }, maxCount: 1 });
    expect(first).toHaveLength(1);
    expect(all).toEqual(first);
  });

  it('hands out full batches back to back while catching up', async () => {
    const streamId = newStreamId();
    const marker = await store.appendToStream(newStreamId(), [newEvent()], { expectedRevision: 'no_stream' });
    await store.appendToStream(streamId, Array.from({ length: 25 }, () => newEvent()), { expectedRevision: 'no_stream' });
    await eventually(async () => ((await store.readAll({ after: marker.position, maxCount: 100 })).length >= 25 ? true : undefined));

    const subscription = store.subscribeToAll({ after: marker.position, maxBatch: 10 });
    const sizes: number[] = [];
    for await (const batch of subscription) {
      sizes.push(batch.length);
      if (sizes.reduce((sum, size) => sum + size, 0) >= 25) break;
    }
    await subscription.close();
    expect(sizes.slice(0, 2)).toEqual([10, 10]);
  });

  it('closes its subscriptions on close and ends an owned pool only', async () => {
    const ownedPool = new Pool({ connectionString: database.url, max: 2 });
    const owning = new PostgresEventStore(ownedPool, { ownsPool: true });
    const sharedPool = new Pool({ connectionString: database.url, max: 2 });
    // The database is dropped with force in afterAll; a closing connection may still hear of it.
    for (const pool of [ownedPool, sharedPool]) pool.on('error', () => undefined);
    const sharing = new PostgresEventStore(sharedPool);
    try {
      const subscription = owning.subscribeToAll({ after: START, maxBatch: 5 });
      const drained = (async () => {
        let batches = 0;
        for await (const _ of subscription) batches++;
        return batches;
      })();
      await owning.close();
      await owning.close();
      expect(await drained).toBeGreaterThanOrEqual(0);
      expect(ownedPool.ended).toBe(true);
      expect(() => owning.subscribeToAll({ after: START })).toThrow('closed');

      await sharing.close();
      expect(sharedPool.ended).toBe(false);
      expect((await sharedPool.query<{ one: number }>('select 1 as one')).rows[0]?.one).toBe(1);
    } finally {
      if (!ownedPool.ended) await ownedPool.end();
      await sharedPool.end();
    }
  });
});

function newStreamId(): string {
  return `pg-${uniqueSuffix()}`;
}

function newEvent(): EventToAppend {
  return { eventId: randomUUID(), type: 'Tested', data: { id: randomUUID() } };
}

function compareBigints(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
