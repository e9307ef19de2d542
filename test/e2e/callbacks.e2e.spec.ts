import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { independentReachCellSignatureIsValid, independentReachSignatureIsValid } from '@reach/testing';
import { exited, startOwnPlatform, type OwnPlatform } from './own-platform';

/**
 * Status callbacks and webhooks as deployed: real processes on a platform of this suite's own
 * (database, NATS namespace, ports), so killing its callbacks process disturbs no other suite.
 * Receivers are real HTTP servers on 127.0.0.1 (private targets allowed for this platform), and
 * every signature is checked with the independent validators of @reach/testing.
 */
let own: OwnPlatform;

interface Account {
  accountId: string;
  apiKey: string;
  apiUser: string;
  number: string;
}

interface Arrival {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

class Receiver {
  readonly arrivals: Arrival[] = [];
  /** Requests held unanswered while `holding` is true; answered 200 when released. */
  holding = false;
  private readonly held: ServerResponse[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.arrivals.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (this.holding) this.held.push(res);
        else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  release(): void {
    this.holding = false;
    for (const res of this.held.splice(0)) if (!res.destroyed) res.writeHead(200).end('ok');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let numberSeed = 100 + Math.floor(Math.random() * 800);
async function newAccount(): Promise<Account> {
  const created = await own.reachctl<{ accountId: string; apiKey: string; apiUser: string }>('account', 'create', '--name', 'callbacks e2e');
  numberSeed += 1;
  const number = `+1415666${String(numberSeed).padStart(4, '0')}`;
  await own.reachctl('number', 'add', '--account', created.accountId, '--number', number);
  return { ...created, number };
}

async function reachCreate(account: Account, params: Record<string, string>): Promise<{ messageId: string; status: string }> {
  const response = await fetch(`${own.gatewayUrl}/rest/messaging/v1/create`, {
    method: 'POST',
    headers: { ApiUser: account.apiUser, ApiKey: account.apiKey, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ src: account.number, dest: '+14155553000', ...params }).toString(),
  });
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as { messageId: string; status: string };
}

async function reachCell<T>(account: Account, method: string, route: string, json?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${own.gatewayUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${account.apiKey}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const statusesOf = (arrivals: readonly Arrival[], messageId: string) =>
  arrivals.map((a) => new URLSearchParams(a.body)).filter((p) => p.get('messageId') === messageId).map((p) => p.get('status'));

describe('callbacks: signed status callbacks and webhooks, in order, surviving a kill', () => {
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    own = await startOwnPlatform('cb', 70, {
      SIM_SEND_LATENCY_MS: '30',
      SIM_DELIVERY_LATENCY_MS: '30',
      SIM_FAILURE_RATE: '0',
      SIM_UNDELIVERED_RATE: '0',
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      CALLBACKS_TIME_SCALE: '0.001',
      CALLBACKS_HTTP_TIMEOUT_MS: '1500',
    });
  });

  afterAll(async () => {
    await own?.stop();
    await Promise.all(receivers.map((r) => r.stop()));
  });

  const receiver = async () => {
    const r = await new Receiver().start();
    receivers.push(r);
    return r;
  };

  it('POSTs a Reach status callback for queued, sent and delivered, in that order, each signed with the API key', async () => {
    const account = await newAccount();
    const hook = await receiver();
    const callbackUrl = `${hook.url}/status?customer=42&lang=de`;
    const { messageId } = await reachCreate(account, { body: 'Grüße aus Köln 👋', statusCallback: callbackUrl, bulkIdentifier: 'bulk-e2e' });

    const arrivals = await until(() => {
      const mine = hook.arrivals.filter((a) => new URLSearchParams(a.body).get('messageId') === messageId);
      return mine.length >= 3 ? mine : undefined;
    });
    expect(statusesOf(hook.arrivals, messageId)).toEqual(['queued', 'sent', 'delivered']);
    for (const arrival of arrivals) {
      const params = Object.fromEntries(new URLSearchParams(arrival.body));
      expect(arrival.path).toBe('/status?customer=42&lang=de');
      expect(params).toMatchObject({ messageId, src: account.number, dest: '+14155553000', body: 'Grüße aus Köln 👋', bulkId: 'bulk-e2e', numSegments: '1', numMedia: '0' });
      expect(independentReachSignatureIsValid(account.apiKey, String(arrival.headers['x-reach-signature']), callbackUrl, params)).toBe(true);
      expect(arrival.headers['x-reach-delivery-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(arrivals.map((a) => a.headers['x-reach-delivery-id'])).size).toBe(3);
    const delivered = Object.fromEntries(new URLSearchParams(arrivals[2]?.body));
    expect(delivered['dlrDate']).toMatch(/^\d{10}$/);

    // Every attempt is visible through the API, per message.
    const listed = await until(async () => {
      const { body } = await reachCell<{ data: Array<{ state: string; event_type: string; attempts: number }> }>(account, 'GET', `/v1/sms/${messageId}/deliveries`);
      return body.data.length === 3 && body.data.every((d) => d.state === 'succeeded') ? body.data : undefined;
    });
    expect(listed.map((d) => d.event_type).sort()).toEqual(['delivered', 'queued', 'sent']);
  });

  it('delivers ReachCell webhooks (sms.sent, sms.delivered, sms.received, number.assigned) signed with the secret shown once', async () => {
    const account = await newAccount();
    const hook = await receiver();
    const created = await reachCell<{ data: { id: string; secret: string } }>(account, 'POST', '/v1/webhooks', {
      url: `${hook.url}/reachcell`,
      label: 'e2e',
      events: ['sms.sent', 'sms.delivered', 'sms.received', 'number.assigned'],
    });
    expect(created.status).toBe(201);
    const { secret, id: webhookId } = created.body.data;

    const sent = await reachCell<{ data: { message_id: string } }>(account, 'POST', '/v1/sms/send', { from: account.number, to: '+14155553000', body: 'webhook e2e' });
    expect(sent.status).toBe(202);
    const messageId = sent.body.data.message_id;
    numberSeed += 1;
    const extraNumber = `+1415666${String(numberSeed).padStart(4, '0')}`;
    await own.reachctl('number', 'add', '--account', account.accountId, '--number', extraNumber);
    await own.reachctl('simulate', 'inbound', '--from', '+14155559876', '--to', account.number, '--body', 'Hi from a customer');

    const envelopes = await until(() => (hook.arrivals.length >= 4 ? hook.arrivals : undefined));
    for (const arrival of envelopes) {
      expect(independentReachCellSignatureIsValid(secret, String(arrival.headers['x-reachcell-signature']), arrival.body)).toBe(true);
      expect(arrival.headers['x-reachcell-delivery-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    const bodies = envelopes.map((a) => JSON.parse(a.body) as { event_type: string; api_version: string; data: Record<string, unknown> });
    const smsEvents = bodies.filter((b) => b.event_type === 'sms.sent' || b.event_type === 'sms.delivered');
    expect(smsEvents.map((b) => b.event_type)).toEqual(['sms.sent', 'sms.delivered']);
    expect(smsEvents[1]).toMatchObject({ api_version: 'v1', data: { message_id: messageId, status: 'delivered', body: 'webhook e2e' } });
    expect(bodies.find((b) => b.event_type === 'number.assigned')?.data).toMatchObject({ number: extraNumber });
    expect(bodies.find((b) => b.event_type === 'sms.received')?.data).toMatchObject({
      from: '+14155559876',
      to: account.number,
      body: 'Hi from a customer',
      direction: 'inbound',
    });

    const perWebhook = await reachCell<{ data: unknown[]; meta: { total: number } }>(account, 'GET', `/v1/webhooks/${webhookId}/deliveries`);
    expect(perWebhook.body.meta.total).toBe(4);
  });

  it('loses nothing when the callbacks process is killed mid-flight: every delivery arrives after a restart, repeats keep their id', async () => {
    const account = await newAccount();
    const hook = await receiver();
    hook.holding = true; // attempts hang until the process is gone
    const callbackUrl = `${hook.url}/crash`;
    const first = await Promise.all([1, 2, 3].map((i) => reachCreate(account, { body: `before the crash ${i}`, statusCallback: callbackUrl })));
    await until(() => (hook.arrivals.length >= 3 ? true : undefined));

    const callbacks = own.child('callbacks');
    callbacks.kill('SIGKILL');
    await exited(callbacks.pid!);

    // While no callbacks process runs, more messages go through their whole lifecycle.
    const second = await Promise.all([1, 2, 3].map((i) => reachCreate(account, { body: `during the outage ${i}`, statusCallback: callbackUrl })));
    hook.release();

    await own.startService('callbacks', own.basePort + 10);
    const all = [...first, ...second].map((m) => m.messageId);
    await until(() => (all.every((id) => statusesOf(hook.arrivals, id).includes('delivered')) ? true : undefined), 60_000);

    for (const messageId of all) {
      // Each status arrived, and in order: the first arrival of each status comes before the next status.
      const statuses = statusesOf(hook.arrivals, messageId);
      const firstSeen = ['queued', 'sent', 'delivered'].map((s) => statuses.indexOf(s));
      expect(firstSeen.every((i) => i >= 0)).toBe(true);
      expect([...firstSeen].sort((a, b) => a - b)).toEqual(firstSeen);
    }
    // A repeat is the same delivery: same id, same body, same signature.
    const byId = new Map<string, Set<string>>();
    for (const arrival of hook.arrivals) {
      const id = String(arrival.headers['x-reach-delivery-id']);
      byId.set(id, (byId.get(id) ?? new Set()).add(`${arrival.body}|${String(arrival.headers['x-reach-signature'])}`));
    }
    for (const variants of byId.values()) expect(variants.size).toBe(1);
    expect(byId.size).toBe(all.length * 3);
  }, 90_000);
});
