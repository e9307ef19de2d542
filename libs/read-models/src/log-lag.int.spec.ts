import { randomUUID } from 'node:crypto';
import { PostgresEventStore, START, type EventStore, type RecordedEvent } from '@reach/event-store';
import { createTestDatabase, eventually, type TestDatabase } from '@reach/testing';
import { saveCheckpoint } from './checkpoints.repository';
import { canCountLogLag, countEventsAfter, readLogLag } from './log-lag';

describe('log lag', () => {
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

  async function append(count: number): Promise<void> {
    await store.appendToStream(
      `lag-${randomUUID()}`,
      Array.from({ length: count }, () => ({ eventId: randomUUID(), type: 'Ticked', data: {} })),
      { expectedRevision: 'no_stream' },
    );
  }

  async function wholeLog(count: number): Promise<RecordedEvent[]> {
    return eventually(async () => {
      const log = await store.readAll({ after: START, maxCount: 1000 });
      return log.length >= count ? log : undefined;
    });
  }

  it('counts the events after a checkpoint (up to a cap) and the age of the oldest of them; 0 and 0 when caught up', async () => {
    const empty = await readLogLag({ db: database.db, store }, 'lag-reader', new Date());
    expect(empty).toEqual({ events: 0, seconds: 0 });

    await append(3);
    await append(2);
    const log = await wholeLog(5);
    const later = new Date(log[0]!.createdAt.getTime() + 30_000);

    expect(await readLogLag({ db: database.db, store }, 'lag-reader', later)).toEqual({ events: 5, seconds: 30 });
    expect(await countEventsAfter(database.db, START, 4)).toBe(4);

    await saveCheckpoint(database.db, 'lag-reader', log[2]!.position);
    const behind = await readLogLag({ db: database.db, store }, 'lag-reader', new Date(log[3]!.createdAt.getTime() + 1_500));
    expect(behind).toEqual({ events: 2, seconds: 1.5 });

    await saveCheckpoint(database.db, 'lag-reader', log[4]!.position);
    expect(await readLogLag({ db: database.db, store }, 'lag-reader', later)).toEqual({ events: 0, seconds: 0 });
  });

  it('counts only on the PostgreSQL store; with another store the count is null and the age still known', async () => {
    expect(canCountLogLag(store)).toBe(true);
    const other: EventStore = {
      appendToStream: () => Promise.reject(new Error('unused')),
      readStream: () => Promise.resolve([]),
      readAll: (options) => store.readAll(options),
      subscribeToAll: (options) => store.subscribeToAll(options),
      close: () => Promise.resolve(),
    };
    expect(canCountLogLag(other)).toBe(false);
    await saveCheckpoint(database.db, 'other-reader', START);
    const lag = await readLogLag({ db: database.db, store: other }, 'other-reader', new Date(Date.now() + 60_000));
    expect(lag.events).toBeNull();
    expect(lag.seconds).toBeGreaterThan(59);
  });
});
