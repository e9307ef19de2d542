import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createSafeDispatcher, type SafeDispatcher } from '@reach/outbound-http';
import {
  createTestDatabase,
  eventually,
  independentReachCellSignatureIsValid,
  independentReachSignatureIsValid,
  type TestDatabase,
} from '@reach/testing';
import {
  claimDueDeliveries,
  createWebhook,
  findDelivery,
  insertPlannedDeliveries,
  listWebhooks,
  type PlannedDelivery,
} from '@reach/webhooks';
import { DeliveryWorker, type DeliveryWorkerOptions } from './delivery-worker';
import { SigningKeys } from './signing-keys';

/*
 * The delivery worker against real PostgreSQL and real HTTP receivers on 127.0.0.1. Signatures
 * are checked with the independent validators of @reach/testing, written from PRODUCT.md and
 * sharing no code with @reach/webhook-signatures.
 */

const API_KEY = 'ak_TestKeyForSignatures0123456789abcdefABCD';

interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly at: number;
}

interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  respond: (request: ReceivedRequest, res: ServerResponse) => void;
  close(): Promise<void>;
}

const receivers: Receiver[] = [];

async function startReceiver(respond: Receiver['respond'] = (_req, res) => res.writeHead(200).end('ok')): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const receiver = { requests, respond } as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(request);
      receiver.respond(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  receivers.push(receiver);
  return receiver;
}

let database: TestDatabase;
let accountId: string;
const workers: DeliveryWorker[] = [];
const dispatchers: SafeDispatcher[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});

beforeEach(async () => {
  accountId = randomUUID();
  await database.db
    .insertInto('accounts')
    .values({ id: accountId, name: 'Callbacks', api_user: `AID${randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase()}`, monthly_allowance_segments: 0, overage_price_per_segment_usd: 0 })
    .execute();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  await Promise.all(dispatchers.splice(0).map((dispatcher) => dispatcher.close()));
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  // Each test starts with an empty outbox: a retry left over from one must not reach the next.
  await database.db.deleteFrom('delivery_attempts').execute();
  await database.db.deleteFrom('deliveries').execute();
});

afterAll(async () => {
  await database.drop();
});

function startWorker(overrides: Partial<DeliveryWorkerOptions> & { allowPrivate?: boolean } = {}): DeliveryWorker {
  const dispatcher = createSafeDispatcher({ allowPrivate: overrides.allowPrivate ?? true, connectTimeoutMs: 2000 });
  dispatchers.push(dispatcher);
  const worker = new DeliveryWorker({
    db: database.db,
    dispatcher,
    signingKeys: new SigningKeys(database.db, async () => API_KEY),
    logger: pino({ level: 'silent' }),
    timing: { timeScale: 0.001, random: () => 0.5 },
    httpTimeoutMs: 2000,
    maxInFlight: 64,
    endpointConcurrency: 4,
    pollIntervalMs: 20,
    retentionMs: 30 * 86_400_000,
    ...overrides,
  });
  workers.push(worker);
  worker.start();
  return worker;
}

let sequence = 0;

function callback(url: string, params: Record<string, string>, overrides: Partial<PlannedDelivery> = {}): PlannedDelivery {
  sequence += 1;
  const messageId = overrides.messageId ?? randomUUID();
  return {
    id: randomUUID(),
    accountId,
    kind: 'status_callback',
    webhookId: null,
    messageId,
    eventId: randomUUID(),
    eventType: params['status'] ?? 'queued',
    url,
    endpointKey: `origin:${new URL(url).origin}`,
    orderingKey: `callback:${messageId}`,
    sequence: BigInt(sequence),
    contentType: 'application/x-www-form-urlencoded',
    payload: new URLSearchParams(params).toString(),
    ...overrides,
  };
}

async function webhookDelivery(url: string, data: unknown): Promise<{ planned: PlannedDelivery; secret: string; webhookId: string }> {
  const { webhook, secret } = await createWebhook(database.db, { accountId, url, label: 'test', events: ['sms.sent'], now: new Date() });
  const eventId = randomUUID();
  const planned: PlannedDelivery = {
    id: randomUUID(),
    accountId,
    kind: 'webhook',
    webhookId: webhook.id,
    messageId: null,
    eventId,
    eventType: 'sms.sent',
    url,
    endpointKey: `webhook:${webhook.id}`,
    orderingKey: `webhook:${webhook.id}:${randomUUID()}`,
    sequence: 0n,
    contentType: 'application/json',
    payload: JSON.stringify({ event_id: eventId, event_type: 'sms.sent', api_version: 'v1', timestamp: '2026-11-22T10:00:00Z', data }),
  };
  return { planned, secret, webhookId: webhook.id };
}

async function enqueue(...planned: PlannedDelivery[]): Promise<void> {
  await insertPlannedDeliveries(database.db, planned, new Date());
}

async function settled(deliveryId: string) {
  return eventually(async () => {
    const delivery = await findDelivery(database.db, accountId, deliveryId);
    return delivery && delivery.state !== 'pending' && delivery.state !== 'in_flight' ? delivery : undefined;
  }, 15_000);
}

describe('delivery worker', () => {
  it('POSTs a status callback form-encoded, signed so an independent validator accepts it, with delivery id and timestamp', async () => {
    const receiver = await startReceiver();
    const url = `${receiver.url}/callbacks/status?tenant=acme&x=1`;
    const planned = callback(url, { messageId: 'm-1', status: 'delivered', src: '+14155550100', dest: '+447700900123', body: 'Grüße 👋 漢字', dlrDate: '2611221030' });
    await enqueue(planned);
    startWorker();

    const delivery = await settled(planned.id);
    expect(delivery.state).toBe('succeeded');
    expect(delivery.attemptLog).toEqual([expect.objectContaining({ attempt: 1, outcome: 'succeeded', statusCode: 200 })]);

    const [request] = receiver.requests;
    expect(request?.path).toBe('/callbacks/status?tenant=acme&x=1');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.headers['x-reach-delivery-id']).toBe(planned.id);
    expect(Math.abs(Number(request?.headers['x-reach-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    const params = Object.fromEntries(new URLSearchParams(request?.body ?? ''));
    expect(params['body']).toBe('Grüße 👋 漢字');
    expect(independentReachSignatureIsValid(API_KEY, String(request?.headers['x-reach-signature']), url, params)).toBe(true);
    expect(independentReachSignatureIsValid('ak_wrong', String(request?.headers['x-reach-signature']), url, params)).toBe(false);
  });

  it('POSTs a webhook envelope signed with sha256=<hex> keyed by SHA-256 of the secret', async () => {
    const receiver = await startReceiver();
    const { planned, secret } = await webhookDelivery(`${receiver.url}/hooks`, { message_id: 'm-2', body: 'héllo' });
    await enqueue(planned);
    startWorker();

    expect((await settled(planned.id)).state).toBe('succeeded');
    const [request] = receiver.requests;
    expect(request?.headers['x-reachcell-delivery-id']).toBe(planned.id);
    expect(request?.headers['x-reachcell-timestamp']).toMatch(/^\d{10}$/);
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({ event_type: 'sms.sent', api_version: 'v1', data: { body: 'héllo' } });
    expect(independentReachCellSignatureIsValid(secret, String(request?.headers['x-reachcell-signature']), request?.body ?? '')).toBe(true);
    expect(independentReachCellSignatureIsValid(secret, String(request?.headers['x-reachcell-signature']), `${request?.body ?? ''} `)).toBe(false);
  });

  it('retries 5xx and 429 on the schedule, with the same delivery id, body and signature, until 2xx', async () => {
    const answers = [500, 429, 503];
    const receiver = await startReceiver((_req, res) => {
      const status = answers.shift() ?? 200;
      res.writeHead(status).end(String(status));
    });
    const planned = callback(`${receiver.url}/cb`, { messageId: 'm-3', status: 'sent' });
    await enqueue(planned);
    startWorker();

    const delivery = await settled(planned.id);
    expect(delivery.state).toBe('succeeded');
    expect(delivery.attemptLog.map((a) => [a.outcome, a.statusCode])).toEqual([
      ['retry', 500],
      ['retry', 429],
      ['retry', 503],
      ['succeeded', 200],
    ]);
    expect(new Set(receiver.requests.map((r) => r.headers['x-reach-delivery-id']))).toEqual(new Set([planned.id]));
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
    expect(new Set(receiver.requests.map((r) => r.headers['x-reach-signature'])).size).toBe(1);
    // Scaled by 0.001 with no jitter (random = 0.5): 5 s → 5 ms, 5 min → 300 ms, 30 min → 1.8 s.
    const gaps = receiver.requests.slice(1).map((r, i) => r.at - (receiver.requests[i]?.at ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(4);
    expect(gaps[1]).toBeGreaterThanOrEqual(290);
    expect(gaps[2]).toBeGreaterThanOrEqual(1750);
  });

  it('honours Retry-After instead of the schedule', async () => {
    let calls = 0;
    const receiver = await startReceiver((_req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(429, { 'retry-after': '1200' }).end();
      else res.writeHead(204).end();
    });
    const planned = callback(`${receiver.url}/cb`, { messageId: 'm-4', status: 'sent' });
    await enqueue(planned);
    startWorker();

    expect((await settled(planned.id)).state).toBe('succeeded');
    // 1200 s scaled by 0.001 = 1.2 s, far above the scheduled 5 ms.
    expect((receiver.requests[1]?.at ?? 0) - (receiver.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(1150);
  });

  it('treats a redirect as a failed attempt and never follows it', async () => {
    const elsewhere = await startReceiver();
    let calls = 0;
    const receiver = await startReceiver((_req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(302, { location: `${elsewhere.url}/stolen` }).end();
      else res.writeHead(200).end();
    });
    const planned = callback(`${receiver.url}/cb`, { messageId: 'm-5', status: 'sent' });
    await enqueue(planned);
    startWorker();

    const delivery = await settled(planned.id);
    expect(delivery.attemptLog.map((a) => [a.outcome, a.statusCode])).toEqual([
      ['retry', 302],
      ['succeeded', 200],
    ]);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('retries a timeout and a refused connection', async () => {
    let calls = 0;
    const receiver = await startReceiver((_req, res) => {
      calls += 1;
      if (calls > 1) res.writeHead(200).end(); // the first request is never answered
    });
    const closed = await startReceiver();
    const deadUrl = `${closed.url}/cb`;
    await closed.close();
    receivers.splice(receivers.indexOf(closed), 1);
    const slow = callback(`${receiver.url}/cb`, { messageId: 'm-6', status: 'sent' });
    const refused = callback(deadUrl, { messageId: 'm-7', status: 'sent' });
    await enqueue(slow, refused);
    startWorker({ httpTimeoutMs: 500 });

    const delivered = await settled(slow.id);
    expect(delivered.attemptLog[0]).toMatchObject({ outcome: 'retry', statusCode: null, error: expect.stringMatching(/timed out/) });
    expect(delivered.state).toBe('succeeded');
    const pending = await eventually(async () => {
      const d = await findDelivery(database.db, accountId, refused.id);
      return d && d.attemptLog.length > 0 ? d : undefined;
    });
    expect(pending.attemptLog[0]).toMatchObject({ outcome: 'retry', error: expect.stringMatching(/ECONNREFUSED|failed/) });
  });

  it('gives up after the tenth attempt', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(500).end());
    const planned = callback(`${receiver.url}/cb`, { messageId: 'm-8', status: 'sent' });
    await enqueue(planned);
    // The whole schedule (~3.4 days) scaled to ~3 s.
    startWorker({ timing: { timeScale: 0.00001, random: () => 0.5 } });

    const delivery = await settled(planned.id);
    expect(delivery.state).toBe('failed');
    expect(delivery.attempts).toBe(10);
    expect(delivery.attemptLog.map((a) => a.outcome)).toEqual([...Array(9).fill('retry'), 'failed']);
    expect(delivery.lastError).toMatch(/gave up after 10 attempts/);
    expect(receiver.requests).toHaveLength(10);
  }, 30_000);

  it('stops on 410 Gone: the webhook is disabled and its other pending deliveries are canceled', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(410).end('gone'));
    const first = await webhookDelivery(`${receiver.url}/hooks`, { n: 1 });
    const later = { ...first.planned, id: randomUUID(), eventId: randomUUID(), orderingKey: `${first.planned.orderingKey}:b` };
    const laterDue = new Date(Date.now() + 60_000);
    await enqueue(first.planned);
    await insertPlannedDeliveries(database.db, [later], laterDue);
    startWorker();

    const delivery = await settled(first.planned.id);
    expect(delivery.state).toBe('failed');
    expect(delivery.attemptLog).toEqual([expect.objectContaining({ outcome: 'endpoint_gone', statusCode: 410 })]);
    const [webhook] = await eventually(async () => {
      const hooks = await listWebhooks(database.db, accountId);
      return hooks[0]?.status === 'disabled' ? hooks : undefined;
    });
    expect(webhook?.disabledReason).toMatch(/410/);
    expect((await findDelivery(database.db, accountId, later.id))?.state).toBe('canceled');
    expect(receiver.requests).toHaveLength(1);
  });

  it('refuses private destinations unless allowed: nothing is sent and the delivery fails at once', async () => {
    const receiver = await startReceiver();
    const planned = callback(`${receiver.url}/cb`, { messageId: 'm-9', status: 'sent' });
    await enqueue(planned);
    startWorker({ allowPrivate: false });

    const delivery = await settled(planned.id);
    expect(delivery.state).toBe('failed');
    expect(delivery.attemptLog).toEqual([expect.objectContaining({ outcome: 'failed', error: expect.stringMatching(/Refusing to connect to 127\.0\.0\.1/) })]);
    expect(receiver.requests).toHaveLength(0);
  });

  it('keeps one message’s callbacks in lifecycle order, even when an earlier one must be retried', async () => {
    const seen: string[] = [];
    let failedOnce = false;
    const receiver = await startReceiver((request, res) => {
      const status = new URLSearchParams(request.body).get('status') ?? '?';
      seen.push(status);
      if (status === 'queued' && !failedOnce) {
        failedOnce = true;
        res.writeHead(503).end();
      } else res.writeHead(200).end();
    });
    const messageId = randomUUID();
    const url = `${receiver.url}/cb`;
    const lifecycle = ['queued', 'sent', 'delivered'].map((status, i) =>
      callback(url, { messageId, status }, { messageId, sequence: BigInt(i + 1) }),
    );
    await enqueue(...[...lifecycle].reverse());
    startWorker();

    for (const planned of lifecycle) expect((await settled(planned.id)).state).toBe('succeeded');
    expect(seen).toEqual(['queued', 'queued', 'sent', 'delivered']);
  });

  it('does not let a dead endpoint delay a healthy one', async () => {
    const dead = await startReceiver(() => undefined); // accepts and never answers
    const healthy = await startReceiver();
    const stuck = Array.from({ length: 40 }, (_, i) => callback(`${dead.url}/cb`, { messageId: `dead-${i}`, status: 'sent' }));
    await enqueue(...stuck);
    startWorker({ httpTimeoutMs: 5000, endpointConcurrency: 4 });
    await eventually(async () => (dead.requests.length >= 4 ? true : undefined));

    const started = Date.now();
    const fine = Array.from({ length: 40 }, (_, i) => callback(`${healthy.url}/cb`, { messageId: `ok-${i}`, status: 'sent' }));
    await enqueue(...fine);
    for (const planned of fine) expect((await settled(planned.id)).state).toBe('succeeded');
    expect(Date.now() - started).toBeLessThan(3000);
    // The dead endpoint never had more than its lane's worth of attempts open.
    expect(dead.requests.length).toBeLessThanOrEqual(4);
  });

  it('takes over a delivery whose worker died mid-attempt, with the same delivery id', async () => {
    const receiver = await startReceiver();
    const planned = callback(`${receiver.url}/cb`, { messageId: 'm-10', status: 'sent' });
    await enqueue(planned);
    // A worker that claimed it and then died: a short lease, and no result ever written.
    const [claimed] = await claimDueDeliveries(database.db, { limit: 10, now: new Date(), leaseMs: 300, excludeEndpoints: [], perEndpointLimit: 10 });
    expect(claimed?.id).toBe(planned.id);
    startWorker();

    const delivery = await settled(planned.id);
    expect(delivery.state).toBe('succeeded');
    expect(delivery.attemptLog.map((a) => a.outcome)).toEqual(['retry', 'succeeded']);
    expect(delivery.attemptLog[0]?.error).toMatch(/abandoned/);
    expect(receiver.requests.map((r) => r.headers['x-reach-delivery-id'])).toEqual([planned.id]);
  }, 20_000);
});
