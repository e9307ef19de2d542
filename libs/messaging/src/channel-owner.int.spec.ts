import pino from 'pino';
import { natsNames } from '@reach/contracts';
import { eventually, testNamespace, testUrls } from '@reach/testing';
import type { NatsConnection } from 'nats';
import { ChannelOwnerCache, ChannelOwnerDirectory, DEVICE_GATEWAY_OWNER_KEY, channelOwnerBucket, type ChannelOwner } from './channel-owner';
import { connectNats, drainNats } from './nats-connection';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const now = new Date('2026-11-22T10:00:00.000Z');
const later = new Date('2026-11-22T10:05:00.000Z');

describe('channel owner directory', () => {
  let nc: NatsConnection;
  const directories: ChannelOwnerDirectory[] = [];
  const caches: ChannelOwnerCache[] = [];

  beforeAll(async () => {
    nc = await connectNats({ url: testUrls.nats, name: 'messaging-channel-owner-test', logger });
  });

  afterAll(async () => {
    await Promise.all(caches.map((cache) => cache.stop()));
    for (const directory of directories) await directory.destroy().catch(() => undefined);
    await drainNats(nc);
  });

  /** A bucket of its own per test, so the tests run in any order and in parallel. */
  async function newDirectory(): Promise<ChannelOwnerDirectory> {
    const directory = await ChannelOwnerDirectory.open(nc.jetstream(), natsNames(testNamespace()));
    directories.push(directory);
    return directory;
  }

  async function startedCache(directory: ChannelOwnerDirectory): Promise<ChannelOwnerCache> {
    const cache = new ChannelOwnerCache(directory, logger);
    caches.push(cache);
    await cache.start();
    return cache;
  }

  it('names the bucket after the namespace', () => {
    expect(channelOwnerBucket(natsNames('reach'))).toBe('reach-channel-owner');
  });

  it('publishes the owner under device-gateway and reads it back', async () => {
    const directory = await newDirectory();
    const revision = await directory.publish({ deviceGatewayUrl: 'http://10.0.0.5:3005', ownerId: 'dispatcher-a' }, now);
    expect(await directory.read()).toEqual({
      owner: { deviceGatewayUrl: 'http://10.0.0.5:3005', ownerId: 'dispatcher-a', since: now.toISOString() },
      revision,
    });
    expect((await directory.kv.get(DEVICE_GATEWAY_OWNER_KEY))?.json()).toMatchObject({ ownerId: 'dispatcher-a' });
  });

  it('refuses a URL the edge cannot proxy to', async () => {
    const directory = await newDirectory();
    await expect(directory.publish({ deviceGatewayUrl: 'https://10.0.0.5:3005', ownerId: 'a' }, now)).rejects.toThrow();
    await expect(directory.publish({ deviceGatewayUrl: 'not a url', ownerId: 'a' }, now)).rejects.toThrow();
  });

  it('opens an existing bucket from a second process without changing it', async () => {
    const directory = await newDirectory();
    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.5:3005', ownerId: 'dispatcher-a' }, now);
    const bucket = (await directory.kv.status()).bucket;
    const names = natsNames(bucket.replace(/-channel-owner$/, ''));
    const again = await ChannelOwnerDirectory.open(nc.jetstream(), names);
    expect((await again.read()).owner?.ownerId).toBe('dispatcher-a');
  });

  it('withdraws only for the owner that still holds the entry', async () => {
    const directory = await newDirectory();
    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.5:3005', ownerId: 'dispatcher-a' }, now);
    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.6:3005', ownerId: 'dispatcher-b' }, later);
    expect(await directory.withdraw('dispatcher-a')).toBe(false);
    expect((await directory.read()).owner?.ownerId).toBe('dispatcher-b');
    expect(await directory.withdraw('dispatcher-b')).toBe(true);
    expect((await directory.read()).owner).toBeNull();
    expect(await directory.withdraw('dispatcher-b')).toBe(false);
  });

  it('a withdraw that loses against a newer publish keeps the newer owner', async () => {
    const directory = await newDirectory();
    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.5:3005', ownerId: 'dispatcher-a' }, now);
    const stale = await directory.kv.get(DEVICE_GATEWAY_OWNER_KEY);
    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.6:3005', ownerId: 'dispatcher-b' }, later);
    // dispatcher-a read its own entry just before dispatcher-b published: the delete expects the
    // older revision, the server refuses it, and withdraw reports that it no longer owns the entry.
    const get = jest.spyOn(directory.kv, 'get').mockResolvedValueOnce(stale);
    expect(await directory.withdraw('dispatcher-a')).toBe(false);
    get.mockRestore();
    expect((await directory.read()).owner?.ownerId).toBe('dispatcher-b');
  });

  it('the cache knows the owner once started, then follows publishes and withdrawals', async () => {
    const directory = await newDirectory();
    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.5:3005', ownerId: 'dispatcher-a' }, now);
    const cache = new ChannelOwnerCache(directory, logger);
    caches.push(cache);
    expect(cache.current()).toBeNull();
    const seen: (ChannelOwner | null)[] = [];
    cache.onChange((owner) => seen.push(owner));
    await cache.start();
    expect(cache.current()).toBe('http://10.0.0.5:3005');

    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.6:3005', ownerId: 'dispatcher-b' }, later);
    await eventually(async () => (cache.current() === 'http://10.0.0.6:3005' ? true : undefined));
    expect(cache.currentOwner()).toEqual({ deviceGatewayUrl: 'http://10.0.0.6:3005', ownerId: 'dispatcher-b', since: later.toISOString() });

    await directory.withdraw('dispatcher-b');
    await eventually(async () => (cache.current() === null ? true : undefined));
    expect(seen.map((owner) => owner?.ownerId ?? null)).toEqual(['dispatcher-a', 'dispatcher-b', null]);
  });

  it('starts with no owner on an empty bucket and learns one', async () => {
    const directory = await newDirectory();
    const cache = await startedCache(directory);
    expect(cache.current()).toBeNull();
    await directory.publish({ deviceGatewayUrl: 'http://127.0.0.1:3005', ownerId: 'dispatcher-a' }, now);
    await eventually(async () => cache.current() ?? undefined);
  });

  it('treats a malformed entry as no owner instead of stopping', async () => {
    const directory = await newDirectory();
    const cache = await startedCache(directory);
    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.5:3005', ownerId: 'dispatcher-a' }, now);
    await eventually(async () => cache.current() ?? undefined);
    await directory.kv.put(DEVICE_GATEWAY_OWNER_KEY, '{"deviceGatewayUrl":42}');
    await eventually(async () => (cache.current() === null ? true : undefined));
    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.6:3005', ownerId: 'dispatcher-b' }, later);
    await eventually(async () => (cache.current() === 'http://10.0.0.6:3005' ? true : undefined));
  });

  it('knows no owner after stop', async () => {
    const directory = await newDirectory();
    await directory.publish({ deviceGatewayUrl: 'http://10.0.0.5:3005', ownerId: 'dispatcher-a' }, now);
    const cache = await startedCache(directory);
    expect(cache.current()).toBe('http://10.0.0.5:3005');
    await cache.stop();
    expect(cache.current()).toBeNull();
  });
});
