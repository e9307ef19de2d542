import pino from 'pino';
import { natsNames } from '@reach/contracts';
import { eventually, testNamespace, testUrls } from '@reach/testing';
import type { NatsConnection } from 'nats';
import { deleteTopology, ensureTopology } from './jetstream-topology';
import { connectNats, drainNats } from './nats-connection';
import { PhonePresenceStore, PresenceCache, type PresenceChange } from './phone-presence';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const now = new Date('2026-11-22T10:00:00.000Z');

describe('phone presence', () => {
  const names = natsNames(testNamespace());
  let nc: NatsConnection;
  let store: PhonePresenceStore;
  const caches: PresenceCache[] = [];

  beforeAll(async () => {
    nc = await connectNats({ url: testUrls.nats, name: 'messaging-presence-test', logger });
    await ensureTopology(nc, names);
    store = await PhonePresenceStore.open(nc.jetstream(), names);
  });

  afterAll(async () => {
    await Promise.all(caches.map((cache) => cache.stop()));
    await deleteTopology(nc, names);
    await drainNats(nc);
  });

  function newCache(): PresenceCache {
    const cache = new PresenceCache(store, logger);
    caches.push(cache);
    return cache;
  }

  it('stores and reads a number presence, keyed by its digits', async () => {
    await store.set('+14155550100', false, now);
    expect(await store.get('+14155550100')).toEqual({ online: false, changedAt: now.toISOString() });
    expect((await store.kv.get('14155550100'))?.operation).toBe('PUT');
    expect(await store.get('+14155550199')).toBeNull();
    await store.delete('+14155550100');
    expect(await store.get('+14155550100')).toBeNull();
  });

  it('refuses a number that is not E.164', async () => {
    await expect(store.set('4155550100', true, now)).rejects.toThrow(/E\.164/);
  });

  it('fails to open a bucket that does not exist, saying what to run', async () => {
    await expect(PhonePresenceStore.open(nc.jetstream(), natsNames(testNamespace()))).rejects.toThrow(/ensureTopology/);
  });

  it('loads every entry before start() resolves, then follows changes', async () => {
    await store.set('+14155550101', false, now);
    await store.set('+14155550102', true, now);
    await store.set('+14155550102', false, now);

    const cache = newCache();
    const changes: PresenceChange[] = [];
    cache.onChange((change) => changes.push(change));
    await cache.start();

    expect(cache.isOnline('+14155550101')).toBe(false);
    expect(cache.isOnline('+14155550102')).toBe(false);
    expect(cache.isOnline('+14155550188')).toBe(true);
    expect(cache.isOnline('+14155550188', false)).toBe(false);

    await store.set('+14155550101', true, new Date(now.getTime() + 1_000));
    await store.set('+14155550103', false, now);
    await eventually(async () => (cache.isOnline('+14155550101') && !cache.isOnline('+14155550103') ? true : undefined));
    expect(changes.at(-1)).toMatchObject({ e164: '+14155550103', presence: { online: false } });
    expect(cache.get('+14155550101')).toEqual({ online: true, changedAt: new Date(now.getTime() + 1_000).toISOString() });
    expect(cache.offlineNumbers().sort()).toEqual(['+14155550102', '+14155550103']);

    await store.delete('+14155550102');
    await eventually(async () => (cache.isOnline('+14155550102') ? true : undefined));
    expect(cache.get('+14155550102')).toBeNull();
  });

  it('treats a malformed entry as unknown instead of stopping', async () => {
    const cache = newCache();
    await cache.start();
    await store.kv.put('14155550104', 'not json');
    await store.set('+14155550105', false, now);
    await eventually(async () => (cache.isOnline('+14155550105') ? undefined : true));
    expect(cache.isOnline('+14155550104')).toBe(true);
  });

  it('starts on an empty bucket, and refuses reads before start', async () => {
    const emptyNames = natsNames(testNamespace());
    await ensureTopology(nc, emptyNames);
    try {
      const cache = new PresenceCache(await PhonePresenceStore.open(nc.jetstream(), emptyNames), logger);
      expect(() => cache.isOnline('+14155550100')).toThrow(/before start/);
      await cache.start();
      expect(cache.isOnline('+14155550100')).toBe(true);
      await cache.stop();
    } finally {
      await deleteTopology(nc, emptyNames);
    }
  });
});
