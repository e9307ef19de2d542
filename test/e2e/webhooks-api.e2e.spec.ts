import { createHash, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { MAX_WEBHOOKS_PER_ACCOUNT, reachCellWebhookEvents } from '@reach/webhooks';
import { http, newAccountWithNumber, send, TO, withDatabase, type ErrorJson, type TestAccount } from './support';

/**
 * The ReachCell webhooks API over HTTP: registering endpoints, and reading and redriving the
 * delivery outbox. The deliveries are written straight into the `deliveries` table, as the
 * callbacks service would, so their states are exactly the ones each case needs.
 *
 * The private-address refusals below expect the platform started by global-setup.ts to run
 * with WEBHOOKS_ALLOW_PRIVATE_NETWORKS unset (false); the validator's unit tests cover both settings.
 */

interface Envelope<T> {
  success: boolean;
  data: T;
  meta: { total: number; page: number; per_page: number; total_pages: number };
  error: ErrorJson & { details?: { fields: Array<{ field: string; code: string; message: string }> } };
}

interface CreatedWebhookJson {
  id: string;
  url: string;
  label: string;
  events: string[];
  status: string;
  secret: string;
  created_at: string;
}

interface WebhookJson {
  id: string;
  url: string;
  label: string;
  events: string[];
  status: string;
  disabled_reason: string | null;
  secret_prefix: string;
  created_at: string;
  disabled_at: string | null;
}

interface DeliveryJson {
  id: string;
  kind: string;
  webhook_id: string | null;
  message_id: string | null;
  event_id: string;
  event_type: string;
  url: string;
  state: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  completed_at: string | null;
  attempt_log: Array<{ attempt: number; started_at: string; latency_ms: number | null; status_code: number | null; outcome: string; error: string | null }>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REACHCELL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const HOOK_URL = 'https://hooks.example.com/reach';

function createWebhook(account: TestAccount, json: unknown) {
  return http<Envelope<CreatedWebhookJson>>('POST', '/v1/webhooks', { key: account.apiKey, json });
}

function listWebhooks(account: TestAccount) {
  return http<Envelope<WebhookJson[]>>('GET', '/v1/webhooks', { key: account.apiKey });
}

async function webhookIdsOf(account: TestAccount): Promise<string[]> {
  const list = await listWebhooks(account);
  expect(list.status).toBe(200);
  return list.body.data.map((w) => w.id);
}

/** Every row ever written for the account, deleted ones included: a refusal must add none. */
const webhookRows = (account: TestAccount) =>
  withDatabase(async (db) => Number((await db.query('select count(*) from webhooks where account_id = $1', [account.accountId])).rows[0].count));

describe('ReachCell webhooks: registering endpoints', () => {
  let alice: TestAccount;
  let bob: TestAccount;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([newAccountWithNumber(), newAccountWithNumber()]);
  });

  it('creates a webhook and shows its secret in that answer only', async () => {
    const startedAt = Date.now();
    const created = await createWebhook(alice, { url: HOOK_URL, label: '  Orders  ', events: ['sms.delivered', 'sms.failed'] });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const data = created.body.data;
    expect(created.body.success).toBe(true);
    expect(data).toEqual({
      id: expect.stringMatching(UUID),
      url: HOOK_URL,
      label: 'Orders',
      events: ['sms.delivered', 'sms.failed'],
      status: 'active',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
      created_at: expect.stringMatching(REACHCELL_TIME),
    });
    expect(Date.parse(data.created_at)).toBeGreaterThanOrEqual(Math.floor(startedAt / 1000) * 1000);

    const list = await listWebhooks(alice);
    expect(list.status).toBe(200);
    expect(list.body.data.find((w) => w.id === data.id)).toEqual({
      id: data.id,
      url: HOOK_URL,
      label: 'Orders',
      events: ['sms.delivered', 'sms.failed'],
      status: 'active',
      disabled_reason: null,
      secret_prefix: data.secret.slice(0, 12),
      created_at: data.created_at,
      disabled_at: null,
    });
    expect(JSON.stringify(list.body)).not.toContain(data.secret);

    // Only the secret's SHA-256 is kept, and it is the digest of the secret we were shown.
    const row = await withDatabase(async (db) => (await db.query('select * from webhooks where id = $1', [data.id])).rows[0]);
    expect(JSON.stringify(row)).not.toContain(data.secret);
    expect(Buffer.from(row.signing_key).equals(createHash('sha256').update(data.secret).digest())).toBe(true);
  });

  it('gives every webhook its own secret', async () => {
    const [first, second] = await Promise.all([
      createWebhook(alice, { url: HOOK_URL, label: 'one', events: ['sms.sent'] }),
      createWebhook(alice, { url: HOOK_URL, label: 'two', events: ['sms.sent'] }),
    ]);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(first.body.data.secret).not.toBe(second.body.data.secret);
  });

  it('lists the live webhooks oldest first, and nothing for a new account', async () => {
    const carol = await newAccountWithNumber();
    expect(await listWebhooks(carol)).toMatchObject({ status: 200, body: { success: true, data: [] } });
    const first = await createWebhook(carol, { url: `${HOOK_URL}/1`, label: 'first', events: ['sms.received'] });
    const second = await createWebhook(carol, { url: `${HOOK_URL}/2`, label: 'second', events: ['number.assigned', 'number.released'] });
    expect(await webhookIdsOf(carol)).toEqual([first.body.data.id, second.body.data.id]);
  });

  it('deletes a webhook: it leaves the list, and a second delete is a 404', async () => {
    const created = await createWebhook(alice, { url: HOOK_URL, label: 'short-lived', events: ['sms.sent'] });
    const id = created.body.data.id;
    const deleted = await http<Envelope<{ id: string; deleted: boolean }>>('DELETE', `/v1/webhooks/${id}`, { key: alice.apiKey });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ success: true, data: { id, deleted: true } });
    expect(await webhookIdsOf(alice)).not.toContain(id);

    const again = await http('DELETE', `/v1/webhooks/${id}`, { key: alice.apiKey });
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ success: false, error: { code: 'not_found', message: 'Webhook not found' } });
    expect((await http('GET', `/v1/webhooks/${id}/deliveries`, { key: alice.apiKey })).status).toBe(404);
  });

  it('answers 404 for unknown webhook ids, well-formed or not', async () => {
    for (const id of [randomUUID(), 'not-a-uuid', '1']) {
      const response = await http('DELETE', `/v1/webhooks/${id}`, { key: alice.apiKey });
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ success: false, error: { code: 'not_found', message: 'Webhook not found' } });
    }
  });

  it("never shows, nor deletes, another account's webhook", async () => {
    const created = await createWebhook(alice, { url: HOOK_URL, label: 'alice only', events: ['sms.delivered'] });
    const id = created.body.data.id;
    expect(await webhookIdsOf(bob)).not.toContain(id);

    const foreign = await http('DELETE', `/v1/webhooks/${id}`, { key: bob.apiKey });
    const unknown = await http('DELETE', `/v1/webhooks/${randomUUID()}`, { key: bob.apiKey });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
    expect(await webhookIdsOf(alice)).toContain(id);

    const deliveries = await http('GET', `/v1/webhooks/${id}/deliveries`, { key: bob.apiKey });
    expect(deliveries.status).toBe(404);
    expect(deliveries.body).toEqual((await http('GET', `/v1/webhooks/${randomUUID()}/deliveries`, { key: bob.apiKey })).body);
  });

  it('answers 401 without a valid API key', async () => {
    for (const [method, path] of [
      ['POST', '/v1/webhooks'],
      ['GET', '/v1/webhooks'],
      ['DELETE', `/v1/webhooks/${randomUUID()}`],
      ['GET', `/v1/deliveries/${randomUUID()}`],
    ] as const) {
      const response = await http(method, path, { key: 'ak_doesnotexist0000000000000000000000000000' });
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ success: false, error: { code: 'unauthorized' } });
    }
  });
});

describe('ReachCell webhooks: a refused registration gets a clear error and writes nothing', () => {
  let account: TestAccount;
  const valid = { url: HOOK_URL, label: 'Orders', events: ['sms.delivered'] };

  beforeAll(async () => {
    account = await newAccountWithNumber();
  });

  const refusals: Array<[string, unknown, string]> = [
    ['no url', { label: 'x', events: ['sms.sent'] }, 'url'],
    ['a url that is not text', { ...valid, url: 42 }, 'url'],
    ['a relative url', { ...valid, url: '/webhooks/reach' }, 'url'],
    ['a url without a scheme', { ...valid, url: 'hooks.example.com/reach' }, 'url'],
    ['an ftp url', { ...valid, url: 'ftp://hooks.example.com/reach' }, 'url'],
    ['a javascript: url', { ...valid, url: 'javascript:alert(1)' }, 'url'],
    ['a url with credentials', { ...valid, url: 'https://user:secret@hooks.example.com/reach' }, 'url'],
    ['a url of 2049 characters', { ...valid, url: `https://hooks.example.com/${'a'.repeat(2049 - 26)}` }, 'url'],
    ['localhost', { ...valid, url: 'http://localhost:8080/hook' }, 'url'],
    ['a *.localhost name', { ...valid, url: 'http://hooks.localhost/hook' }, 'url'],
    ['a loopback IP', { ...valid, url: 'http://127.0.0.1:9000/hook' }, 'url'],
    ['a loopback IP written as one number', { ...valid, url: 'http://2130706433/hook' }, 'url'],
    ['a private IP', { ...valid, url: 'http://10.0.0.5/hook' }, 'url'],
    ['the cloud metadata address', { ...valid, url: 'http://169.254.169.254/latest/meta-data' }, 'url'],
    ['an IPv6 loopback', { ...valid, url: 'http://[::1]/hook' }, 'url'],
    ['an IPv4-mapped IPv6 private address', { ...valid, url: 'http://[::ffff:192.168.1.1]/hook' }, 'url'],
    ['no label', { url: HOOK_URL, events: ['sms.sent'] }, 'label'],
    ['a blank label', { ...valid, label: '   ' }, 'label'],
    ['a label of 101 characters', { ...valid, label: 'x'.repeat(101) }, 'label'],
    ['no events', { url: HOOK_URL, label: 'x' }, 'events'],
    ['an empty event list', { ...valid, events: [] }, 'events'],
    ['events that are not a list', { ...valid, events: 'sms.sent' }, 'events'],
    ['an unknown event type', { ...valid, events: ['sms.sent', 'sms.bounced'] }, 'events[1]'],
    ['a repeated event type', { ...valid, events: ['sms.sent', 'sms.sent'] }, 'events[1]'],
    ['a JSON array', [valid], ''],
  ];

  it.each(refusals)('refuses %s with 422 naming the field', async (_name, json, field) => {
    const before = await webhookRows(account);
    const response = await createWebhook(account, json);
    expect(response.status).toBe(422);
    expect(response.body.success).toBe(false);
    expect(response.body.error.code).toBe('validation_error');
    expect(response.body.error.details?.fields).toEqual([expect.objectContaining({ field })]);
    expect(response.body.error.message).toContain(field === '' ? 'request body' : field.replace(/\[\d+\]$/, ''));
    expect(await webhookRows(account)).toBe(before);
  });

  it('names the unknown event type and lists the allowed ones', async () => {
    const response = await createWebhook(account, { ...valid, events: ['sms.bounced'] });
    expect(response.status).toBe(422);
    expect(response.body.error.message).toContain('"sms.bounced"');
    for (const event of reachCellWebhookEvents) expect(response.body.error.message).toContain(event);
  });

  it('reports every bad field at once', async () => {
    const response = await createWebhook(account, { url: 'ftp://x', label: '', events: [] });
    expect(response.status).toBe(422);
    expect(response.body.error.details?.fields.map((f) => f.field)).toEqual(['url', 'label', 'events']);
  });

  it.each([
    ['malformed JSON', { rawBody: '{"url": "https://hooks.example.com",' }, 400, 'invalid_json'],
    ['a form-encoded body', { rawBody: 'url=https%3A%2F%2Fhooks.example.com&label=x&events=sms.sent', contentType: 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
    ['plain text', { rawBody: 'hello', contentType: 'text/plain' }, 415, 'unsupported_media_type'],
  ])('answers %s like the send call does', async (_name, request, status, code) => {
    const before = await webhookRows(account);
    const response = await http<Envelope<unknown>>('POST', '/v1/webhooks', { key: account.apiKey, ...request });
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ success: false, error: { code } });
    expect(await webhookRows(account)).toBe(before);
  });

  it('accepts a public literal IP: only private and reserved ones are refused', async () => {
    const response = await createWebhook(account, { ...valid, url: 'http://93.184.216.34:8080/hook' });
    expect(response.status).toBe(201);
    expect(response.body.data.url).toBe('http://93.184.216.34:8080/hook');
  });
});

describe('ReachCell webhooks: at most MAX_WEBHOOKS_PER_ACCOUNT per account', () => {
  it('refuses one more with webhook_limit_reached, and counts only live webhooks', async () => {
    const account = await newAccountWithNumber();
    const ids: string[] = [];
    for (let i = 0; i < MAX_WEBHOOKS_PER_ACCOUNT; i += 1) {
      const created = await createWebhook(account, { url: `${HOOK_URL}/${i}`, label: `hook ${i}`, events: ['sms.sent'] });
      expect(created.status).toBe(201);
      ids.push(created.body.data.id);
    }
    const refused = await createWebhook(account, { url: `${HOOK_URL}/extra`, label: 'one too many', events: ['sms.sent'] });
    expect(refused.status).toBe(422);
    expect(refused.body).toEqual({ success: false, error: { code: 'webhook_limit_reached', message: expect.stringContaining(String(MAX_WEBHOOKS_PER_ACCOUNT)) } });
    expect(await webhookRows(account)).toBe(MAX_WEBHOOKS_PER_ACCOUNT);

    expect((await http('DELETE', `/v1/webhooks/${ids[0]}`, { key: account.apiKey })).status).toBe(200);
    const replacement = await createWebhook(account, { url: `${HOOK_URL}/replacement`, label: 'replacement', events: ['sms.sent'] });
    expect(replacement.status).toBe(201);
    expect(await webhookIdsOf(account)).toHaveLength(MAX_WEBHOOKS_PER_ACCOUNT);
  });
});

interface InsertedDelivery {
  id: string;
  kind: 'status_callback' | 'webhook';
  webhookId: string | null;
  state: 'pending' | 'in_flight' | 'succeeded' | 'failed' | 'canceled';
  orderingKey: string;
  sequence: number;
  attempts: number;
  createdAt: string;
  leaseExpiresAt?: Date | null;
  nextAttemptAt?: string | null;
  lastStatusCode?: number | null;
  lastError?: string | null;
  completedAt?: string | null;
}

async function insertDelivery(db: Client, account: TestAccount, messageId: string, d: InsertedDelivery): Promise<void> {
  await db.query(
    `insert into deliveries (id, account_id, kind, webhook_id, message_id, event_id, event_type, url, endpoint_key, ordering_key,
       sequence, content_type, payload, state, attempts, next_attempt_at, lease_expires_at, last_status_code, last_error, created_at, completed_at)
     values ($1, $2, $3, $4, $5, $6, 'sms.delivered', $7, $8, $9, $10, 'application/json', '{}', $11, $12, $13, $14, $15, $16, $17, $18)`,
    [
      d.id,
      account.accountId,
      d.kind,
      d.webhookId,
      messageId,
      `event-${d.id}`,
      HOOK_URL,
      d.webhookId ? `webhook:${d.webhookId}` : 'https://hooks.example.com',
      d.orderingKey,
      d.sequence,
      d.state,
      d.attempts,
      d.nextAttemptAt ?? null,
      d.leaseExpiresAt ?? null,
      d.lastStatusCode ?? null,
      d.lastError ?? null,
      d.createdAt,
      d.completedAt ?? null,
    ],
  );
}

describe('ReachCell webhooks: delivery visibility and redelivery', () => {
  let erin: TestAccount;
  let bob: TestAccount;
  let messageId: string;
  let webhookId: string;
  const inFlightId = randomUUID();
  const failedId = randomUUID();
  const callbackId = randomUUID();

  beforeAll(async () => {
    [erin, bob] = await Promise.all([newAccountWithNumber(), newAccountWithNumber()]);
    const sent = await send(erin, TO, 'deliveries e2e');
    expect(sent.status).toBe(202);
    messageId = sent.body.data.message_id;
    // Subscribed to an event this suite never causes: the running callbacks service plans
    // nothing for this account, so the only deliveries are the ones inserted below.
    const created = await createWebhook(erin, { url: HOOK_URL, label: 'visibility', events: ['number.released'] });
    expect(created.status).toBe(201);
    webhookId = created.body.data.id;
  });

  afterAll(async () => {
    await withDatabase((db) => db.query('delete from deliveries where id = any($1::uuid[])', [[inFlightId, failedId, callbackId]]));
  });

  const emptyPage = (perPage: number) => ({ success: true, data: [], meta: { total: 0, page: 1, per_page: perPage, total_pages: 0 } });

  it('shows empty pages for a fresh message and a fresh webhook', async () => {
    expect(await http('GET', `/v1/sms/${messageId}/deliveries`, { key: erin.apiKey })).toMatchObject({ status: 200, body: emptyPage(20) });
    expect(await http('GET', `/v1/webhooks/${webhookId}/deliveries`, { key: erin.apiKey })).toMatchObject({ status: 200, body: emptyPage(20) });
    expect(await http('GET', `/v1/sms/${messageId}/deliveries?state=failed&per_page=5`, { key: erin.apiKey })).toMatchObject({ status: 200, body: emptyPage(5) });
  });

  it('answers 404 for unknown deliveries, messages and webhooks', async () => {
    const cases: Array<[string, string, string]> = [
      ['GET', `/v1/deliveries/${randomUUID()}`, 'Delivery not found'],
      ['GET', '/v1/deliveries/not-a-uuid', 'Delivery not found'],
      ['POST', `/v1/deliveries/${randomUUID()}/redeliver`, 'Delivery not found'],
      ['POST', '/v1/deliveries/not-a-uuid/redeliver', 'Delivery not found'],
      ['GET', `/v1/sms/${randomUUID()}/deliveries`, 'Message not found'],
      ['GET', `/v1/webhooks/${randomUUID()}/deliveries`, 'Webhook not found'],
    ];
    for (const [method, path, message] of cases) {
      const response = await http(method, path, { key: erin.apiKey });
      expect({ path, status: response.status, body: response.body }).toEqual({ path, status: 404, body: { success: false, error: { code: 'not_found', message } } });
    }
  });

  it.each(['per_page=101', 'per_page=0', 'page=0', 'page=x', 'state=delivered', 'state=failed&state=pending'])(
    'answers 400 invalid_parameter for the query %s',
    async (query) => {
      for (const path of [`/v1/sms/${messageId}/deliveries`, `/v1/webhooks/${webhookId}/deliveries`]) {
        const response = await http<Envelope<unknown>>('GET', `${path}?${query}`, { key: erin.apiKey });
        expect(response.status).toBe(400);
        expect(response.body.error.code).toBe('invalid_parameter');
      }
    },
  );

  describe('with deliveries in the outbox', () => {
    beforeAll(async () => {
      const orderingKey = `e2e:${messageId}:webhook:${webhookId}`;
      await withDatabase(async (db) => {
        // In flight under a long lease, and first in its order: the failed one behind it stays
        // pending after a redelivery until this one finishes, so no worker touches either here.
        await insertDelivery(db, erin, messageId, {
          id: inFlightId, kind: 'webhook', webhookId, state: 'in_flight', orderingKey, sequence: 1, attempts: 1,
          createdAt: '2026-05-01T10:00:00.000Z', leaseExpiresAt: new Date(Date.now() + 3_600_000),
        });
        await insertDelivery(db, erin, messageId, {
          id: failedId, kind: 'webhook', webhookId, state: 'failed', orderingKey, sequence: 2, attempts: 3,
          createdAt: '2026-05-01T10:00:01.250Z', lastStatusCode: 500, lastError: 'HTTP 500', completedAt: '2026-05-01T12:30:45.678Z',
        });
        await insertDelivery(db, erin, messageId, {
          id: callbackId, kind: 'status_callback', webhookId: null, state: 'succeeded', orderingKey: `e2e:${messageId}:callback`, sequence: 1,
          attempts: 1, createdAt: '2026-05-01T09:59:59.999Z', lastStatusCode: 204, completedAt: '2026-05-01T10:00:00.500Z',
        });
        const attempts: Array<[number, string, number | null, number | null, string, string | null]> = [
          [1, '2026-05-01T10:00:02.100Z', 120, 500, 'retry', 'HTTP 500'],
          [2, '2026-05-01T10:00:32.900Z', null, null, 'retry', 'timed out after 15000 ms'],
          [3, '2026-05-01T12:30:45.000Z', 87, 500, 'failed', 'HTTP 500'],
        ];
        for (const [attempt, startedAt, latencyMs, statusCode, outcome, error] of attempts) {
          await db.query(
            `insert into delivery_attempts (delivery_id, attempt, started_at, latency_ms, status_code, outcome, error, response_excerpt)
             values ($1, $2, $3, $4, $5, $6, $7, 'internal details')`,
            [failedId, attempt, startedAt, latencyMs, statusCode, outcome, error],
          );
        }
      });
    });

    it('shows one delivery with its attempt log, times in UTC to the second', async () => {
      const response = await http<Envelope<DeliveryJson>>('GET', `/v1/deliveries/${failedId}`, { key: erin.apiKey });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        success: true,
        data: {
          id: failedId,
          kind: 'webhook',
          webhook_id: webhookId,
          message_id: messageId,
          event_id: `event-${failedId}`,
          event_type: 'sms.delivered',
          url: HOOK_URL,
          state: 'failed',
          attempts: 3,
          next_attempt_at: null,
          last_status_code: 500,
          last_error: 'HTTP 500',
          created_at: '2026-05-01T10:00:01Z',
          completed_at: '2026-05-01T12:30:45Z',
          attempt_log: [
            { attempt: 1, started_at: '2026-05-01T10:00:02Z', latency_ms: 120, status_code: 500, outcome: 'retry', error: 'HTTP 500' },
            { attempt: 2, started_at: '2026-05-01T10:00:32Z', latency_ms: null, status_code: null, outcome: 'retry', error: 'timed out after 15000 ms' },
            { attempt: 3, started_at: '2026-05-01T12:30:45Z', latency_ms: 87, status_code: 500, outcome: 'failed', error: 'HTTP 500' },
          ],
        },
      });
    });

    it("lists a webhook's deliveries newest first, paged and filtered by state", async () => {
      const all = await http<Envelope<DeliveryJson[]>>('GET', `/v1/webhooks/${webhookId}/deliveries`, { key: erin.apiKey });
      expect(all.status).toBe(200);
      expect(all.body.data.map((d) => d.id)).toEqual([failedId, inFlightId]);
      expect(all.body.meta).toEqual({ total: 2, page: 1, per_page: 20, total_pages: 1 });

      const page1 = await http<Envelope<DeliveryJson[]>>('GET', `/v1/webhooks/${webhookId}/deliveries?per_page=1`, { key: erin.apiKey });
      expect(page1.body.data.map((d) => d.id)).toEqual([failedId]);
      expect(page1.body.meta).toEqual({ total: 2, page: 1, per_page: 1, total_pages: 2 });
      const page2 = await http<Envelope<DeliveryJson[]>>('GET', `/v1/webhooks/${webhookId}/deliveries?per_page=1&page=2`, { key: erin.apiKey });
      expect(page2.body.data.map((d) => d.id)).toEqual([inFlightId]);
      const page3 = await http<Envelope<DeliveryJson[]>>('GET', `/v1/webhooks/${webhookId}/deliveries?per_page=1&page=3`, { key: erin.apiKey });
      expect(page3.body).toMatchObject({ data: [], meta: { total: 2, page: 3 } });

      const inFlight = await http<Envelope<DeliveryJson[]>>('GET', `/v1/webhooks/${webhookId}/deliveries?state=in_flight`, { key: erin.apiKey });
      expect(inFlight.body.data.map((d) => d.id)).toEqual([inFlightId]);
      expect(inFlight.body.meta.total).toBe(1);
    });

    it("lists a message's status callbacks and webhook deliveries together", async () => {
      const response = await http<Envelope<DeliveryJson[]>>('GET', `/v1/sms/${messageId}/deliveries`, { key: erin.apiKey });
      expect(response.status).toBe(200);
      expect(response.body.data.map((d) => [d.id, d.kind])).toEqual([
        [failedId, 'webhook'],
        [inFlightId, 'webhook'],
        [callbackId, 'status_callback'],
      ]);
      expect(response.body.data[2]).toMatchObject({ webhook_id: null, state: 'succeeded', last_status_code: 204, completed_at: '2026-05-01T10:00:00Z', attempt_log: [] });
      expect(response.body.meta).toEqual({ total: 3, page: 1, per_page: 20, total_pages: 1 });
      const succeeded = await http<Envelope<DeliveryJson[]>>('GET', `/v1/sms/${messageId}/deliveries?state=succeeded`, { key: erin.apiKey });
      expect(succeeded.body.data.map((d) => d.id)).toEqual([callbackId]);
    });

    it("hides every delivery from another account, exactly like an unknown id", async () => {
      const unknownDelivery = await http('GET', `/v1/deliveries/${randomUUID()}`, { key: bob.apiKey });
      for (const id of [failedId, inFlightId, callbackId]) {
        const read = await http('GET', `/v1/deliveries/${id}`, { key: bob.apiKey });
        expect(read.status).toBe(404);
        expect(read.body).toEqual(unknownDelivery.body);
        // 404, not 409, for the one in flight: nothing about it leaks.
        const redrive = await http('POST', `/v1/deliveries/${id}/redeliver`, { key: bob.apiKey });
        expect(redrive.status).toBe(404);
        expect(redrive.body).toEqual(unknownDelivery.body);
      }
      const messageDeliveries = await http('GET', `/v1/sms/${messageId}/deliveries`, { key: bob.apiKey });
      expect(messageDeliveries.status).toBe(404);
      expect(messageDeliveries.body).toEqual((await http('GET', `/v1/sms/${randomUUID()}/deliveries`, { key: bob.apiKey })).body);
      expect((await http('GET', `/v1/webhooks/${webhookId}/deliveries`, { key: bob.apiKey })).status).toBe(404);

      const states = await withDatabase(async (db) => (await db.query('select id, state from deliveries where id = any($1::uuid[]) order by id', [[failedId, inFlightId]])).rows);
      expect(Object.fromEntries(states.map((r: { id: string; state: string }) => [r.id, r.state]))).toEqual({ [failedId]: 'failed', [inFlightId]: 'in_flight' });
    });

    it('refuses to redeliver a delivery in flight with 409 delivery_in_flight', async () => {
      const response = await http<Envelope<DeliveryJson>>('POST', `/v1/deliveries/${inFlightId}/redeliver`, { key: erin.apiKey });
      expect(response.status).toBe(409);
      expect(response.body).toEqual({ success: false, error: { code: 'delivery_in_flight', message: expect.any(String) } });
      const row = await withDatabase(async (db) => (await db.query('select state, attempts from deliveries where id = $1', [inFlightId])).rows[0]);
      expect(row).toEqual({ state: 'in_flight', attempts: 1 });
    });

    it('redelivers a failed delivery: 202, pending and due now, same id and history', async () => {
      const before = Date.now();
      const response = await http<Envelope<DeliveryJson>>('POST', `/v1/deliveries/${failedId}/redeliver`, { key: erin.apiKey, json: {} });
      expect(response.status).toBe(202);
      expect(response.body.success).toBe(true);
      const data = response.body.data;
      expect(data).toMatchObject({ id: failedId, state: 'pending', attempts: 3, completed_at: null, last_status_code: 500 });
      expect(data.attempt_log).toHaveLength(3);
      expect(data.next_attempt_at).toMatch(REACHCELL_TIME);
      expect(Math.abs(Date.parse(data.next_attempt_at!) - before)).toBeLessThan(60_000);

      const row = await withDatabase(async (db) => (await db.query('select state, completed_at from deliveries where id = $1', [failedId])).rows[0]);
      expect(row).toEqual({ state: 'pending', completed_at: null });
      const read = await http<Envelope<DeliveryJson>>('GET', `/v1/deliveries/${failedId}`, { key: erin.apiKey });
      expect(read.body.data).toEqual(data);
    });
  });
});
