import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { countNumbersOnline, createChannelHealthMetrics } from './dispatcher.metrics';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

describe('channel health metrics', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
    const accountId = randomUUID();
    await database.db
      .insertInto('accounts')
      .values({ id: accountId, name: 'metrics', api_user: `u${accountId.slice(0, 8)}`, monthly_allowance_segments: 10, overage_price_per_segment_usd: 0 })
      .execute();
    await database.db
      .insertInto('numbers')
      .values(['+14155550101', '+14155550102', '+14155550103'].map((e164) => ({ e164, account_id: accountId })))
      .execute();
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('counts provisioned numbers whose phone is not recorded offline; unknown numbers change nothing', async () => {
    expect(await countNumbersOnline(database.db, [])).toBe(3);
    expect(await countNumbersOnline(database.db, ['+14155550102'])).toBe(2);
    expect(await countNumbersOnline(database.db, ['+14155550102', '+14155550103', '+19999999999'])).toBe(1);
  });

  it('reports phones online and whether this replica runs the channels when scraped', async () => {
    const registry = new Registry();
    let held = false;
    createChannelHealthMetrics({ registry, db: database.db, offlineNumbers: () => ['+14155550101'], channelsHeld: () => held, logger });
    const scrape = async () => (await registry.getMetricsAsJSON()).map((m) => ({ name: m.name, values: m.values.map((v) => ({ labels: v.labels, value: v.value })) }));

    expect(await scrape()).toEqual([
      { name: 'reach_phones_online', values: [{ labels: {}, value: 2 }] },
      {
        name: 'reach_channel_up',
        values: ['simulated', 'device', 'smpp'].map((channel) => ({ labels: { channel }, value: 0 })),
      },
    ]);
    held = true;
    expect((await scrape())[1]).toEqual({
      name: 'reach_channel_up',
      values: ['simulated', 'device', 'smpp'].map((channel) => ({ labels: { channel }, value: 1 })),
    });
  });
});
