import { randomUUID } from 'node:crypto';
import { messageStreamId } from '@reach/contracts';
import { PostgresEventStore } from '@reach/event-store';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { executeMessageCommand } from './message-command.executor';

let database: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => {
  database = await createTestDatabase();
  store = new PostgresEventStore(database.pool, { pollIntervalMs: 5 });
});

afterAll(async () => {
  await store.close();
  await database.drop();
});

async function accept(statusCallback: string | null) {
  const messageId = randomUUID();
  await executeMessageCommand(store, {
    type: 'AcceptMessage',
    data: {
      messageId,
      accountId: randomUUID(),
      now: new Date().toISOString(),
      from: '+14155552671',
      to: '+14155553000',
      body: 'hello',
      segments: { encoding: 'GSM-7', count: 1 },
      channel: 'simulated',
      dialect: 'reach',
      bulkId: null,
      statusCallback,
      maxPrice: null,
      validityPeriodSeconds: 3600,
      scheduledFor: null,
      billing: { monthlyAllowanceSegments: 100, overagePricePerSegmentUsd: 0.01 },
    },
  });
  return store.readStream(messageStreamId(messageId));
}

describe('executeMessageCommand metadata', () => {
  it('records on every event whether the message has a status callback, for the callbacks planner', async () => {
    const withCallback = await accept('https://example.com/cb');
    const without = await accept(null);
    expect(withCallback.map((e) => e.type)).toEqual(['MessageAccepted', 'MessageQueued']);
    expect(withCallback.every((e) => e.metadata['statusCallback'] === true)).toBe(true);
    expect(without.every((e) => e.metadata['statusCallback'] === false)).toBe(true);
    expect(without[0]?.metadata).toMatchObject({ command: 'AcceptMessage', messageId: without[0]?.streamId.replace('message-', '') });
  });
});
