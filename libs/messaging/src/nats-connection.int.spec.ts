import pino from 'pino';
import { testUrls } from '@reach/testing';
import { connectNats, drainNats, NatsStartupError } from './nats-connection';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

describe('connectNats', () => {
  it('connects to a JetStream-enabled server and drains idempotently', async () => {
    const nc = await connectNats({ url: testUrls.nats, name: 'messaging-connection-test', logger });
    expect(nc.isClosed()).toBe(false);
    await drainNats(nc);
    expect(nc.isClosed()).toBe(true);
    await expect(drainNats(nc)).resolves.toBeUndefined();
  });

  it('fails fast, naming the URL and how to start a server, when nothing listens', async () => {
    const url = 'nats://127.0.0.1:1';
    const startedAt = Date.now();
    const error: unknown = await connectNats({ url, name: 'messaging-connection-test', logger }).catch((e: unknown) => e);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(NatsStartupError);
    expect(error).toMatchObject({ code: 'NATS_UNREACHABLE' });
    expect((error as Error).message).toContain(url);
    expect((error as Error).message).toContain('nats-server -js');
  });
});
