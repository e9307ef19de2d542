import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { freshNumber, newAccountWithNumber, platform, reachctl, TO, withDatabase, type TestAccount } from './support';

/**
 * services/api-gateway/openapi.json against the running platform: every operation of both
 * dialects is called for real, successes and the main refusals, and every answer must be
 * documented — its status, its content type, its body (Ajv 2020, strict) and its documented
 * headers. What the platform sends out (the `webhooks` section) is checked against the payloads
 * the callbacks planner writes to the outbox. The last test fails when an operation was never
 * exercised, so a new route needs a case here as well as an entry in the document.
 */

jest.setTimeout(60_000);

const documentPath = path.resolve(__dirname, '../../services/api-gateway/openapi.json');
const documentText = readFileSync(documentPath, 'utf8');
const contract = createContract(JSON.parse(documentText) as OpenApiDocument);

/** Hosts under `.invalid` never resolve (RFC 2606): deliveries to them are recorded and retried, never received. */
const HOOK_URL = 'https://hooks.reach-openapi.invalid/reach';
const CALLBACK_URL = 'https://callbacks.reach-openapi.invalid/status?customer=42';
const ALL_EVENTS = ['sms.received', 'sms.sent', 'sms.delivered', 'sms.failed', 'number.assigned', 'number.released'];

let alice: TestAccount;
let bob: TestAccount;
let aliceWebhookId: string;

beforeAll(async () => {
  [alice, bob] = await Promise.all([newAccountWithNumber(), newAccountWithNumber()]);
  // First, so every later event of Alice's is planned for it (a webhook gets what is recorded after it).
  const created = await api('reachCellCreateWebhook', '/v1/webhooks', { headers: cell(alice), json: { url: HOOK_URL, label: 'openapi e2e', events: ALL_EVENTS } });
  expect(created.status).toBe(201);
  aliceWebhookId = (created.json as { data: { id: string } }).data.id;
});

describe('the API reference', () => {
  it('GET /openapi.json answers the checked-in document', async () => {
    const response = await api('getOpenApiDocument', '/openapi.json');
    expect(response.status).toBe(200);
    expect(response.text).toBe(documentText);
  });

  it('GET /docs is Swagger UI whose every asset the gateway serves itself', async () => {
    const page = await api('getApiDocsPage', '/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="swagger-ui"></div>');
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(expect.arrayContaining(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-initializer.js']));
    for (const asset of assets) {
      expect(asset).toMatch(/^\/docs\//); // no CDN
      expect((await api('getApiDocsAsset', asset)).status).toBe(200);
    }
    expect((await api('getApiDocsAsset', '/docs/swagger-initializer.js')).text).toContain('"/openapi.json"');
  });

  it('answers 404 for a file it does not serve', async () => {
    expect((await api('getApiDocsAsset', '/docs/index.html')).status).toBe(404);
  });
});

describe('the service endpoints', () => {
  it('GET /health, /ready and /metrics', async () => {
    expect((await api('getHealth', '/health')).status).toBe(200);
    expect((await api('getReadiness', '/ready')).status).toBe(200);
    const metrics = await api('getMetrics', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('# TYPE');
  });
});

describe('ReachCell: messages', () => {
  it('POST /v1/sms/send: 202, and the same answer replayed for the same Idempotency-Key', async () => {
    const key = `openapi-${randomUUID()}`;
    const request = { headers: { ...cell(alice), 'idempotency-key': key }, json: { from: alice.number, to: TO, body: 'Your code is 482910' } };
    const first = await api('reachCellSendMessage', '/v1/sms/send', request);
    expect(first.status).toBe(202);
    const again = await api('reachCellSendMessage', '/v1/sms/send', request);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json).toEqual(first.json);
  });

  it('POST /v1/sms/send refuses: 400, 413, 415, 422 (each code)', async () => {
    const send = (init: Init) => api('reachCellSendMessage', '/v1/sms/send', { ...init, headers: { ...cell(alice), ...init.headers } });
    expect(errorCode(await send({ raw: '{"from":', contentType: 'application/json' }))).toBe('invalid_json');
    expect(errorCode(await send({ headers: { 'idempotency-key': 'clé' }, json: { from: alice.number, to: TO, body: 'x' } }))).toBe('invalid_idempotency_key');
    expect(errorCode(await send({ raw: 'from=x', contentType: 'application/x-www-form-urlencoded' }))).toBe('unsupported_media_type');
    expect(errorCode(await send({ raw: 'hello', contentType: 'text/plain' }))).toBe('unsupported_media_type');
    expect(errorCode(await send({ json: { from: 'nobody', body: '' } }))).toBe('validation_error');
    expect(errorCode(await send({ json: { from: bob.number, to: TO, body: 'not yours' } }))).toBe('number_not_provisioned');
    const key = `openapi-${randomUUID()}`;
    expect((await send({ headers: { 'idempotency-key': key }, json: { from: alice.number, to: TO, body: 'first' } })).status).toBe(202);
    expect(errorCode(await send({ headers: { 'idempotency-key': key }, json: { from: alice.number, to: TO, body: 'second' } }))).toBe('idempotency_key_reused');
    const tooLarge = await oversized('reachCellSendMessage', '/v1/sms/send', cell(alice));
    expect(errorCode(tooLarge)).toBe('payload_too_large');
  });

  it('POST /v1/sms/send: 429 with Retry-After beyond the concurrency limit', async () => {
    const account = await newAccountWithNumber();
    const answers = await burst(() => api('reachCellSendMessage', '/v1/sms/send', { headers: cell(account), json: { from: account.number, to: TO, body: 'burst' } }));
    expect(answers.some((a) => a.status === 429 && errorCode(a) === 'rate_limited')).toBe(true);
    expect(answers.every((a) => a.status === 202 || a.status === 429)).toBe(true);
  });

  it('POST /v1/sms/send: a duplicate while the first is running gets 409 (when the race produces one)', async () => {
    const account = await newAccountWithNumber();
    const answers = await race((key) =>
      api('reachCellSendMessage', '/v1/sms/send', { headers: { ...cell(account), 'idempotency-key': key }, json: { from: account.number, to: TO, body: 'raced' } }),
    );
    expect(answers.every((a) => a.status === 202 || (a.status === 409 && errorCode(a) === 'request_in_progress'))).toBe(true);
  });

  it('GET /v1/sms/{messageId}: outbound delivered, inbound, failed and redacted messages; 404 otherwise', async () => {
    const sent = await api('reachCellSendMessage', '/v1/sms/send', { headers: cell(alice), json: { from: alice.number, to: TO, body: 'Lifecycle € check' } });
    const sentId = (sent.json as { data: { message_id: string } }).data.message_id;
    await until(async () => {
      const read = await api('reachCellGetMessage', `/v1/sms/${sentId}`, { headers: cell(alice) });
      return (read.json as { data: { status: string } }).data.status === 'delivered' || undefined;
    });

    const { messageId: inboundId } = await reachctl<{ messageId: string }>('simulate', 'inbound', '--from', '+14155559876', '--to', alice.number, '--body', 'Hi there', '--json');
    const inbound = await until(async () => {
      const read = await api('reachCellGetMessage', `/v1/sms/${inboundId}`, { headers: cell(alice) });
      return read.status === 200 ? read : undefined;
    });
    expect(inbound.json).toMatchObject({ data: { direction: 'inbound', status: 'received' } });

    const failed = await reachCreate(alice, { dest: TO, src: alice.number, body: 'too dear', maxPrice: '0.000001', statusCallback: CALLBACK_URL });
    const failedRead = await api('reachCellGetMessage', `/v1/sms/${failed.messageId}`, { headers: cell(alice) });
    expect(failedRead.json).toMatchObject({ data: { status: 'failed', failure_reason: expect.any(String) } });

    expect((await api('reachUpdateMessage', '/rest/messaging/v1/update', { headers: reach(alice), form: { messageId: sentId, body: '' } })).status).toBe(200);
    const redacted = await api('reachCellGetMessage', `/v1/sms/${sentId}`, { headers: cell(alice) });
    expect(redacted.json).toMatchObject({ data: { body: null } });

    for (const id of [randomUUID(), 'not-a-uuid']) expect(errorCode(await api('reachCellGetMessage', `/v1/sms/${id}`, { headers: cell(alice) }))).toBe('not_found');
    expect(errorCode(await api('reachCellGetMessage', `/v1/sms/${sentId}`, { headers: cell(bob) }))).toBe('not_found');
  });

  it('GET /v1/sms: a filtered page; 400 invalid_parameter', async () => {
    const page = await api('reachCellListMessages', `/v1/sms?direction=outbound&per_page=5&from_date=2020-01-01&number=${encodeURIComponent(alice.number)}`, { headers: cell(alice) });
    expect(page.status).toBe(200);
    expect((page.json as { data: unknown[] }).data.length).toBeGreaterThan(0);
    expect((await api('reachCellListMessages', '/v1/sms', { headers: cell(alice) })).status).toBe(200);
    for (const query of ['per_page=0', 'status=scheduled', 'from_date=2026-02-30', 'page=1&page=2']) {
      expect(errorCode(await api('reachCellListMessages', `/v1/sms?${query}`, { headers: cell(alice) }))).toBe('invalid_parameter');
    }
  });
});

describe('ReachCell: webhooks', () => {
  it('GET /v1/webhooks lists them without secrets', async () => {
    const list = await api('reachCellListWebhooks', '/v1/webhooks', { headers: cell(alice) });
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ data: [{ id: aliceWebhookId }] });
  });

  it('POST /v1/webhooks refuses: 400, 413, 415, 422 validation_error', async () => {
    const create = (init: Init) => api('reachCellCreateWebhook', '/v1/webhooks', { ...init, headers: { ...cell(alice), ...init.headers } });
    expect(errorCode(await create({ raw: '{', contentType: 'application/json' }))).toBe('invalid_json');
    expect(errorCode(await create({ raw: 'url=x', contentType: 'application/x-www-form-urlencoded' }))).toBe('unsupported_media_type');
    expect(errorCode(await create({ json: { url: 'ftp://x', label: ' ', events: ['sms.sent', 'sms.sent', 'sms.nope'] } }))).toBe('validation_error');
    expect(errorCode(await create({ json: { url: 'http://127.0.0.1/hook', label: 'local', events: ['sms.sent'] } }))).toBe('validation_error');
    expect(errorCode(await oversized('reachCellCreateWebhook', '/v1/webhooks', cell(alice)))).toBe('payload_too_large');
  });

  it('POST /v1/webhooks: 422 webhook_limit_reached beyond 20; DELETE /v1/webhooks/{id}: 200, then 404', async () => {
    const account = await newAccountWithNumber();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const created = await api('reachCellCreateWebhook', '/v1/webhooks', { headers: cell(account), json: { url: `${HOOK_URL}/${i}`, label: `hook ${i}`, events: ['number.released'] } });
      expect(created.status).toBe(201);
      expect(created.headers.get('cache-control')).toBe('no-store');
      ids.push((created.json as { data: { id: string } }).data.id);
    }
    const refused = await api('reachCellCreateWebhook', '/v1/webhooks', { headers: cell(account), json: { url: HOOK_URL, label: 'one more', events: ['sms.sent'] } });
    expect(errorCode(refused)).toBe('webhook_limit_reached');

    const deleted = await api('reachCellDeleteWebhook', `/v1/webhooks/${ids[0]}`, { headers: cell(account) });
    expect(deleted.status).toBe(200);
    expect(errorCode(await api('reachCellDeleteWebhook', `/v1/webhooks/${ids[0]}`, { headers: cell(account) }))).toBe('not_found');
    expect(errorCode(await api('reachCellDeleteWebhook', '/v1/webhooks/not-a-uuid', { headers: cell(account) }))).toBe('not_found');
    expect(errorCode(await api('reachCellDeleteWebhook', `/v1/webhooks/${ids[1]}`, { headers: cell(alice) }))).toBe('not_found');
  });
});

describe('ReachCell: deliveries', () => {
  let messageId: string;

  beforeAll(async () => {
    // A Reach message with a status callback, to Alice's webhook too: both kinds of delivery.
    messageId = (await reachCreate(alice, { dest: TO, src: alice.number, body: 'with callbacks', statusCallback: CALLBACK_URL })).messageId;
    await until(async () => {
      const page = await api('reachCellListMessageDeliveries', `/v1/sms/${messageId}/deliveries`, { headers: cell(alice) });
      const kinds = new Set((page.json as { data: Array<{ kind: string }> }).data.map((d) => d.kind));
      return kinds.has('webhook') && kinds.has('status_callback') ? true : undefined;
    });
  });

  it('GET /v1/sms/{messageId}/deliveries and /v1/webhooks/{webhookId}/deliveries: pages; 400; 404', async () => {
    expect((await api('reachCellListMessageDeliveries', `/v1/sms/${messageId}/deliveries?per_page=100`, { headers: cell(alice) })).status).toBe(200);
    expect((await api('reachCellListMessageDeliveries', `/v1/sms/${messageId}/deliveries?state=succeeded`, { headers: cell(alice) })).status).toBe(200);
    const ofWebhook = await api('reachCellListWebhookDeliveries', `/v1/webhooks/${aliceWebhookId}/deliveries?per_page=100`, { headers: cell(alice) });
    expect(ofWebhook.status).toBe(200);
    expect((ofWebhook.json as { meta: { total: number } }).meta.total).toBeGreaterThan(0);
    for (const query of ['per_page=101', 'state=delivered', 'page=x']) {
      expect(errorCode(await api('reachCellListMessageDeliveries', `/v1/sms/${messageId}/deliveries?${query}`, { headers: cell(alice) }))).toBe('invalid_parameter');
      expect(errorCode(await api('reachCellListWebhookDeliveries', `/v1/webhooks/${aliceWebhookId}/deliveries?${query}`, { headers: cell(alice) }))).toBe('invalid_parameter');
    }
    expect(errorCode(await api('reachCellListMessageDeliveries', `/v1/sms/${randomUUID()}/deliveries`, { headers: cell(alice) }))).toBe('not_found');
    expect(errorCode(await api('reachCellListWebhookDeliveries', `/v1/webhooks/${aliceWebhookId}/deliveries`, { headers: cell(bob) }))).toBe('not_found');
  });

  it('GET /v1/deliveries/{deliveryId}: each delivery with its attempts; 404', async () => {
    const page = await api('reachCellListMessageDeliveries', `/v1/sms/${messageId}/deliveries`, { headers: cell(alice) });
    for (const { id } of (page.json as { data: Array<{ id: string }> }).data) {
      expect((await api('reachCellGetDelivery', `/v1/deliveries/${id}`, { headers: cell(alice) })).status).toBe(200);
      expect(errorCode(await api('reachCellGetDelivery', `/v1/deliveries/${id}`, { headers: cell(bob) }))).toBe('not_found');
    }
    expect(errorCode(await api('reachCellGetDelivery', '/v1/deliveries/not-a-uuid', { headers: cell(alice) }))).toBe('not_found');
  });

  describe('POST /v1/deliveries/{deliveryId}/redeliver', () => {
    const inFlightId = randomUUID();
    const failedId = randomUUID();

    beforeAll(async () => {
      // Written straight into the outbox: one in flight under a long lease, and a failed one
      // behind it in the same order, so no worker touches either while the test looks.
      const orderingKey = `openapi-e2e:${messageId}`;
      await withDatabase(async (db) => {
        for (const [id, state, sequence, attempts] of [
          [inFlightId, 'in_flight', 1, 1],
          [failedId, 'failed', 2, 10],
        ] as const) {
          await db.query(
            `insert into deliveries (id, account_id, kind, webhook_id, message_id, event_id, event_type, url, endpoint_key, ordering_key,
               sequence, content_type, payload, state, attempts, lease_expires_at, last_status_code, last_error, completed_at)
             values ($1, $2, 'webhook', $3, $4, $5, 'sms.delivered', $6, $7, $8, $9, 'application/json', '{}', $10, $11, $12, 500, 'HTTP 500', $13)`,
            [id, alice.accountId, aliceWebhookId, messageId, randomUUID(), HOOK_URL, `webhook:${aliceWebhookId}`, orderingKey, sequence, state, attempts,
              state === 'in_flight' ? new Date(Date.now() + 3_600_000) : null, state === 'failed' ? new Date() : null],
          );
        }
        await db.query(
          `insert into delivery_attempts (delivery_id, attempt, started_at, latency_ms, status_code, outcome, error) values ($1, 1, now(), 87, 500, 'retry', 'HTTP 500')`,
          [failedId],
        );
      });
    });

    afterAll(async () => {
      await withDatabase((db) => db.query('delete from deliveries where id = any($1::uuid[])', [[inFlightId, failedId]]));
    });

    it('202 for a finished delivery, 409 for one in flight, 404 for another account’s or an unknown one', async () => {
      const redelivered = await api('reachCellRedeliverDelivery', `/v1/deliveries/${failedId}/redeliver`, { headers: cell(alice) });
      expect(redelivered.status).toBe(202);
      expect(redelivered.json).toMatchObject({ data: { id: failedId, state: 'pending' } });
      expect(errorCode(await api('reachCellRedeliverDelivery', `/v1/deliveries/${inFlightId}/redeliver`, { headers: cell(alice) }))).toBe('delivery_in_flight');
      expect(errorCode(await api('reachCellRedeliverDelivery', `/v1/deliveries/${inFlightId}/redeliver`, { headers: cell(bob) }))).toBe('not_found');
      expect(errorCode(await api('reachCellRedeliverDelivery', `/v1/deliveries/${randomUUID()}/redeliver`, { headers: cell(alice) }))).toBe('not_found');
    });
  });
});

describe('ReachCell: authentication on every operation', () => {
  const calls = (): Array<[string, string]> => [
    ['reachCellSendMessage', '/v1/sms/send'],
    ['reachCellListMessages', '/v1/sms'],
    ['reachCellGetMessage', `/v1/sms/${randomUUID()}`],
    ['reachCellListMessageDeliveries', `/v1/sms/${randomUUID()}/deliveries`],
    ['reachCellListWebhooks', '/v1/webhooks'],
    ['reachCellCreateWebhook', '/v1/webhooks'],
    ['reachCellDeleteWebhook', `/v1/webhooks/${randomUUID()}`],
    ['reachCellListWebhookDeliveries', `/v1/webhooks/${randomUUID()}/deliveries`],
    ['reachCellGetDelivery', `/v1/deliveries/${randomUUID()}`],
    ['reachCellRedeliverDelivery', `/v1/deliveries/${randomUUID()}/redeliver`],
  ];

  it('401 without a key or with a wrong one, 403 for a suspended account', async () => {
    const suspended = await suspendedAccount();
    for (const [operationId, url] of calls()) {
      expect(errorCode(await api(operationId, url))).toBe('unauthorized');
      expect(errorCode(await api(operationId, url, { headers: { authorization: 'Bearer ak_wrong' } }))).toBe('unauthorized');
      expect(errorCode(await api(operationId, url, { headers: cell(suspended) }))).toBe('account_suspended');
    }
  });
});

describe('Reach messaging', () => {
  it('POST create: form and JSON bodies, a replayed Idempotency-Key, a scheduled and a failed message', async () => {
    const form = await api('reachCreateMessage', '/rest/messaging/v1/create', { headers: reach(alice), form: { dest: TO, src: alice.number, body: 'Hello World!' } });
    expect(form.status).toBe(200);
    expect(form.json).toMatchObject({ status: 'queued', apiVersion: '1.0.0' });

    const key = `openapi-${randomUUID()}`;
    const json = { dest: TO, src: alice.number, body: 'Ünïcödé ✓', bulkIdentifier: 'campaign-7', validityPeriod: 600, maxPrice: 1 };
    const first = await api('reachCreateMessage', '/rest/messaging/v1/create', { headers: { ...reach(alice), 'idempotency-key': key }, json });
    expect(first.status).toBe(200);
    const replay = await api('reachCreateMessage', '/rest/messaging/v1/create', { headers: { ...reach(alice), 'idempotency-key': key }, json });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual(first.json);

    const scheduledTime = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await api('reachCreateMessage', '/rest/messaging/v1/create', { headers: reach(alice), form: { dest: TO, src: alice.number, body: 'later', scheduledTime } });
    expect(scheduled.json).toMatchObject({ status: 'scheduled' });

    const failed = await api('reachCreateMessage', '/rest/messaging/v1/create', { headers: reach(alice), form: { dest: TO, src: alice.number, body: 'dear', maxPrice: '0.0000001' } });
    expect(failed.json).toMatchObject({ status: 'failed', errorCode: 20201 });
  });

  it('POST create refuses: 400 (several codes), 402, 413, 415', async () => {
    const create = (init: Init) => api('reachCreateMessage', '/rest/messaging/v1/create', { ...init, headers: { ...reach(alice), ...init.headers } });
    expect(reachCode(await create({ form: { src: alice.number } }))).toBe(10002);
    expect(reachCode(await create({ raw: '{"dest":', contentType: 'application/json' }))).toBe(10002);
    expect(reachCode(await create({ form: { dest: 'nope', src: alice.number, body: 'x' } }))).toBe(20101);
    expect(reachCode(await create({ form: { dest: TO, src: bob.number, body: 'x' } }))).toBe(20102);
    expect(reachCode(await create({ form: { dest: TO, src: alice.number, body: '   ' } }))).toBe(20103);
    expect(reachCode(await create({ form: { dest: TO, src: alice.number, body: 'x', scheduledTime: '2020-01-01T00:00:00Z' } }))).toBe(20104);
    expect(reachCode(await create({ form: { dest: TO, src: alice.number, body: 'x', validityPeriod: '0' } }))).toBe(20105);
    expect(reachCode(await create({ form: { dest: TO, src: alice.number, body: 'x', statusCallback: 'https://bad_host.example/' } }))).toBe(20106);
    expect(reachCode(await create({ form: { dest: TO, src: alice.number, body: 'x', maxPrice: '0' } }))).toBe(20109);
    expect(reachCode(await create({ headers: { 'idempotency-key': 'clé' }, form: { dest: TO, src: alice.number, body: 'x' } }))).toBe(10002);
    const key = `openapi-${randomUUID()}`;
    expect((await create({ headers: { 'idempotency-key': key }, form: { dest: TO, src: alice.number, body: 'one' } })).status).toBe(200);
    expect(reachCode(await create({ headers: { 'idempotency-key': key }, form: { dest: TO, src: alice.number, body: 'two' } }))).toBe(20422);
    expect(reachCode(await create({ raw: 'hello', contentType: 'text/plain' }))).toBe(10002);
    expect((await create({ raw: 'hello', contentType: 'text/plain' })).status).toBe(415);
    expect((await oversized('reachCreateMessage', '/rest/messaging/v1/create', reach(alice))).status).toBe(413);

    const prepaid = await newAccountWithNumber();
    await reachctl('balance', 'set', '--account', prepaid.accountId, '--amount', '0', '--json');
    const unpaid = await api('reachCreateMessage', '/rest/messaging/v1/create', { headers: reach(prepaid), form: { dest: TO, src: prepaid.number, body: 'x' } });
    expect(reachCode(unpaid)).toBe(20202);
  });

  it('POST create: 429 with Retry-After beyond the concurrency limit, 409 for a running duplicate (when the race produces one)', async () => {
    const account = await newAccountWithNumber();
    const answers = await burst(() => api('reachCreateMessage', '/rest/messaging/v1/create', { headers: reach(account), form: { dest: TO, src: account.number, body: 'burst' } }));
    expect(answers.some((a) => a.status === 429 && reachCode(a) === 20429)).toBe(true);
    const raced = await race((key) =>
      api('reachCreateMessage', '/rest/messaging/v1/create', { headers: { ...reach(account), 'idempotency-key': key }, form: { dest: TO, src: account.number, body: 'raced' } }),
    );
    expect(raced.every((a) => a.status === 200 || (a.status === 409 && reachCode(a) === 20409) || a.status === 429)).toBe(true);
  });

  it('GET fetch: 200, 400, 404', async () => {
    const { messageId } = await reachCreate(alice, { dest: TO, src: alice.number, body: 'fetch me' });
    expect((await api('reachFetchMessage', `/rest/messaging/v1/fetch?messageId=${messageId}`, { headers: reach(alice) })).status).toBe(200);
    expect(reachCode(await api('reachFetchMessage', '/rest/messaging/v1/fetch', { headers: reach(alice) }))).toBe(10002);
    expect(reachCode(await api('reachFetchMessage', `/rest/messaging/v1/fetch?messageId=${messageId}`, { headers: reach(bob) }))).toBe(20404);
    expect(reachCode(await api('reachFetchMessage', '/rest/messaging/v1/fetch?messageId=nope', { headers: reach(alice) }))).toBe(20404);
  });

  it('GET list: pages, filters, a page past the end; 400 (several codes)', async () => {
    const list = (query: string, account = alice) => api('reachListMessages', `/rest/messaging/v1/list${query}`, { headers: reach(account) });
    const all = await list('');
    expect(all.status).toBe(200);
    expect((all.json as { messages: unknown[] }).messages.length).toBeGreaterThan(0);
    expect((await list(`?pageSize=2&src=${encodeURIComponent(alice.number)}&sentAfter=2020-01-01`)).status).toBe(200);
    expect((await list('?bulkIdentifier=campaign-7')).status).toBe(200);
    expect((await list('?page=1000')).json).toMatchObject({ outOfPageRange: true, messages: [] });
    expect(reachCode(await list('?pageSize=0'))).toBe(20006);
    expect(reachCode(await list('?page=x'))).toBe(20007);
    expect(reachCode(await list('?dest=nope'))).toBe(20101);
    expect(reachCode(await list('?sentAt=yesterday'))).toBe(10002);
  });

  it('POST update: 200 redacted, 400, 404', async () => {
    const { messageId } = await reachCreate(alice, { dest: TO, src: alice.number, body: 'secret' });
    const redacted = await api('reachUpdateMessage', '/rest/messaging/v1/update', { headers: reach(alice), form: { messageId, body: '' } });
    expect(redacted.json).toMatchObject({ messageId, body: '' });
    expect((await api('reachUpdateMessage', `/rest/messaging/v1/update?messageId=${messageId}`, { headers: reach(alice), json: { body: '' } })).status).toBe(200);
    expect(reachCode(await api('reachUpdateMessage', '/rest/messaging/v1/update', { headers: reach(alice), form: { messageId, body: 'new text' } }))).toBe(10002);
    expect(reachCode(await api('reachUpdateMessage', '/rest/messaging/v1/update', { headers: reach(alice), form: { body: '' } }))).toBe(10002);
    expect(reachCode(await api('reachUpdateMessage', '/rest/messaging/v1/update', { headers: reach(bob), form: { messageId, body: '' } }))).toBe(20404);
    expect((await api('reachUpdateMessage', '/rest/messaging/v1/update', { headers: reach(alice), raw: 'x', contentType: 'text/plain' })).status).toBe(415);
  });

  it('POST unschedule and DELETE delete through a scheduled message’s life; 400 and 404', async () => {
    const scheduledTime = new Date(Date.now() + 3_600_000).toISOString();
    const { messageId } = await reachCreate(alice, { dest: TO, src: alice.number, body: 'maybe later', scheduledTime });
    const del = (id: string, account = alice) => api('reachDeleteMessage', `/rest/messaging/v1/delete?messageId=${id}`, { headers: reach(account) });

    expect(reachCode(await del(messageId))).toBe(20302);
    const canceled = await api('reachUnscheduleMessage', '/rest/messaging/v1/unschedule', { headers: reach(alice), form: { messageId } });
    expect(canceled.json).toMatchObject({ messageId, status: 'canceled' });
    expect((await api('reachUnscheduleMessage', `/rest/messaging/v1/unschedule?messageId=${messageId}`, { headers: reach(alice) })).status).toBe(200);
    expect(reachCode(await del(messageId, bob))).toBe(20404);
    expect((await del(messageId)).status).toBe(204);
    expect(reachCode(await del(messageId))).toBe(20404);
    expect(reachCode(await api('reachDeleteMessage', '/rest/messaging/v1/delete', { headers: reach(alice) }))).toBe(10002);

    const sent = await reachCreate(alice, { dest: TO, src: alice.number, body: 'already on its way' });
    await until(async () => {
      const read = await api('reachFetchMessage', `/rest/messaging/v1/fetch?messageId=${sent.messageId}`, { headers: reach(alice) });
      return (read.json as { status: string }).status === 'delivered' || undefined;
    });
    expect(reachCode(await api('reachUnscheduleMessage', '/rest/messaging/v1/unschedule', { headers: reach(alice), form: { messageId: sent.messageId } }))).toBe(20301);
    expect(reachCode(await api('reachUnscheduleMessage', '/rest/messaging/v1/unschedule', { headers: reach(alice), form: {} }))).toBe(10002);
    expect(reachCode(await api('reachUnscheduleMessage', '/rest/messaging/v1/unschedule', { headers: reach(alice), form: { messageId: randomUUID() } }))).toBe(20404);
    expect((await api('reachUnscheduleMessage', '/rest/messaging/v1/unschedule', { headers: reach(alice), raw: 'x', contentType: 'text/plain' })).status).toBe(415);
  });

  it('401 without or with wrong credentials, 403 for a suspended applet, 406 for an Accept without JSON, on every operation', async () => {
    const suspended = await suspendedAccount();
    const calls: Array<[string, string]> = [
      ['reachCreateMessage', '/rest/messaging/v1/create'],
      ['reachFetchMessage', `/rest/messaging/v1/fetch?messageId=${randomUUID()}`],
      ['reachListMessages', '/rest/messaging/v1/list'],
      ['reachUpdateMessage', '/rest/messaging/v1/update'],
      ['reachUnscheduleMessage', '/rest/messaging/v1/unschedule'],
      ['reachDeleteMessage', `/rest/messaging/v1/delete?messageId=${randomUUID()}`],
    ];
    for (const [operationId, url] of calls) {
      expect(reachCode(await api(operationId, url))).toBe(20002);
      expect(reachCode(await api(operationId, url, { headers: { ApiUser: alice.apiUser, ApiKey: 'ak_wrong' } }))).toBe(20003);
      expect(reachCode(await api(operationId, url, { headers: reach(suspended) }))).toBe(20005);
      expect(reachCode(await api(operationId, url, { headers: { ...reach(alice), accept: 'text/html' } }))).toBe(10003);
    }
  });
});

describe('what the platform sends out (the webhooks section)', () => {
  it('every status callback and webhook event in Alice’s outbox is the documented request', async () => {
    const number = freshNumber();
    await reachctl('number', 'add', '--account', alice.accountId, '--number', number, '--json');
    await reachctl('number', 'release', '--account', alice.accountId, '--number', number, '--json');

    // Planned by the callbacks service from the relayed events: the messages sent by the tests above.
    const wanted = [...['queued', 'sent', 'delivered', 'failed'].map((status) => `status_callback ${status}`), ...ALL_EVENTS.map((event) => `webhook ${event}`)];
    const rows = await until(async () => {
      const found = await withDatabase(async (db) =>
        (await db.query<OutboxRow>('select kind, event_type, content_type, payload from deliveries where account_id = $1 and payload <> $2', [alice.accountId, '{}'])).rows,
      );
      const seen = new Set(found.map((r) => `${r.kind} ${r.event_type}`));
      return wanted.every((w) => seen.has(w)) ? found : undefined;
    });
    for (const row of rows) {
      const webhook = row.kind === 'status_callback' ? 'reachStatusCallback' : row.event_type;
      expect({ webhook, problems: contract.webhookProblems(webhook, row.content_type, row.payload) }).toEqual({ webhook, problems: [] });
    }
  });
});

describe('coverage', () => {
  it('exercised every documented operation with a success and every webhook with a payload', () => {
    const missing = contract.operationIds().filter((id) => ![...(contract.exercised.get(id) ?? [])].some((status) => status < 300));
    expect(missing).toEqual([]);
    expect(contract.webhookNames().filter((name) => !contract.webhooksChecked.has(name))).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------
// Requests

interface Init {
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  raw?: string;
  contentType?: string;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

interface OutboxRow {
  kind: string;
  event_type: string;
  content_type: string;
  payload: string;
}

const cell = (account: Pick<TestAccount, 'apiKey'>) => ({ authorization: `Bearer ${account.apiKey}` });
const reach = (account: Pick<TestAccount, 'apiUser' | 'apiKey'>) => ({ ApiUser: account.apiUser, ApiKey: account.apiKey });
const errorCode = (answer: Answer) => (answer.json as { error?: { code?: string } } | null)?.error?.code;
const reachCode = (answer: Answer) => (answer.json as { errorCode?: number } | null)?.errorCode;

/** Calls the operation with the method the document gives it, and holds the answer to the document. */
async function api(operationId: string, url: string, init: Init = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  } else if (init.form !== undefined) {
    body = new URLSearchParams(init.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (init.raw !== undefined) {
    body = init.raw;
    headers['content-type'] = init.contentType ?? 'application/json';
  }
  const response = await fetch(`${platform.gatewayUrl}${url}`, { method: contract.methodOf(operationId), headers, body });
  return contract.expectDocumented(operationId, answerOf(response.status, response.headers, Buffer.from(await response.arrayBuffer())));
}

/**
 * A request announcing a 2 MiB body: the gateway refuses it from the Content-Length (413) before
 * reading it, so only a few bytes are ever sent.
 */
function oversized(operationId: string, url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      new URL(url, platform.gatewayUrl),
      { method: contract.methodOf(operationId), headers: { ...headers, 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          request.destroy();
          try {
            resolve(contract.expectDocumented(operationId, answerOf(response.statusCode ?? 0, headersOf(response.headers), Buffer.concat(chunks))));
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on('error', () => undefined); // the gateway closes the connection after answering
    request.write('{"body":"');
  });
}

function answerOf(status: number, headers: Headers, raw: Buffer): Answer {
  const text = raw.toString('utf8');
  const json = /json/.test(headers.get('content-type') ?? '') && text !== '' ? (JSON.parse(text) as unknown) : null;
  return { status, headers, text, json };
}

function headersOf(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

async function reachCreate(account: TestAccount, form: Record<string, string>): Promise<{ messageId: string; status: string }> {
  const created = await api('reachCreateMessage', '/rest/messaging/v1/create', { headers: reach(account), form });
  expect(created.status).toBe(200);
  return created.json as { messageId: string; status: string };
}

/** A fresh account, suspended before it ever authenticated (so no gateway has it cached as active). */
async function suspendedAccount(): Promise<TestAccount> {
  const account = await newAccountWithNumber();
  await withDatabase((db) => db.query(`update accounts set status = 'suspended' where id = $1`, [account.accountId]));
  return account;
}

/** Bursts of 40 concurrent requests, until one is refused for the concurrency limit (8 in e2e). */
async function burst(send: () => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let round = 0; round < 5 && !answers.some((a) => a.status === 429); round++) {
    answers.push(...(await Promise.all(Array.from({ length: 40 }, send))));
  }
  return answers;
}

/** The same request six times at once with one Idempotency-Key, a few rounds, until a 409 is seen. */
async function race(send: (key: string) => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let round = 0; round < 5 && !answers.some((a) => a.status === 409); round++) {
    const key = `race-${randomUUID()}`;
    answers.push(...(await Promise.all(Array.from({ length: 6 }, () => send(key)))));
  }
  return answers;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ------------------------------------------------------------------------------------------
// The document as a contract

interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  webhooks: Record<string, { post: OperationObject }>;
  components: { schemas: Record<string, unknown> };
}

interface OperationObject {
  operationId: string;
  requestBody?: Ref | { content: Record<string, { schema: unknown }> };
  responses: Record<string, Ref | ResponseObject>;
}

interface ResponseObject {
  description: string;
  headers?: Record<string, Ref | HeaderObject>;
  content?: Record<string, { schema: unknown }>;
}

interface HeaderObject {
  required?: boolean;
  schema: unknown;
}

interface Ref {
  $ref: string;
}

function createContract(document: OpenApiDocument) {
  const SCHEMAS_ID = 'https://reach.invalid/openapi/components/schemas';
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  const asAjvSchema = (schema: unknown) =>
    JSON.parse(JSON.stringify(schema).replace(/"#\/components\/schemas\//g, `"${SCHEMAS_ID}#/$defs/`)) as Record<string, unknown>;
  ajv.addSchema({ $id: SCHEMAS_ID, $defs: asAjvSchema(document.components.schemas) });

  const validators = new Map<string, ValidateFunction>();
  const validatorAt = (where: string, schema: unknown) => {
    let validate = validators.get(where);
    if (!validate) {
      validate = ajv.compile(asAjvSchema(schema));
      validators.set(where, validate);
    }
    return validate;
  };
  const problemsOf = (where: string, schema: unknown, value: unknown): string[] => {
    const validate = validatorAt(where, schema);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${where}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  };
  const deref = <T>(value: T | Ref): T => {
    if (value === null || typeof value !== 'object' || !('$ref' in value)) return value as T;
    return value.$ref
      .slice(2)
      .split('/')
      .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((node, token) => (node as Record<string, unknown>)[token], document) as T;
  };

  const byId = new Map<string, { method: string; path: string; operation: OperationObject }>();
  for (const [p, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) byId.set(operation.operationId, { method: method.toUpperCase(), path: p, operation });
  }
  const exercised = new Map<string, Set<number>>();
  const webhooksChecked = new Set<string>();

  const find = (operationId: string) => {
    const found = byId.get(operationId);
    if (!found) throw new Error(`no operation ${operationId} in openapi.json`);
    return found;
  };

  /** What the answer does that the document does not say. */
  const answerProblems = (operationId: string, answer: Answer): string[] => {
    const { operation } = find(operationId);
    const documented = operation.responses[String(answer.status)];
    if (!documented) return [`status ${answer.status} is not documented (documented: ${Object.keys(operation.responses).join(', ')}); body ${answer.text.slice(0, 300)}`];
    const response = deref<ResponseObject>(documented);
    const problems: string[] = [];
    const mediaType = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!response.content) {
      if (answer.text !== '') problems.push(`status ${answer.status} documents no body, got ${mediaType}: ${answer.text.slice(0, 200)}`);
    } else if (!response.content[mediaType]) {
      problems.push(`content type ${mediaType || '(none)'} is not documented for ${answer.status} (documented: ${Object.keys(response.content).join(', ')})`);
    } else if (mediaType.endsWith('json')) {
      problems.push(...problemsOf(`${operationId} ${answer.status} ${mediaType}`, response.content[mediaType].schema, answer.json));
    }
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const { required, schema } = deref<HeaderObject>(header);
      const value = answer.headers.get(name);
      if (value === null) {
        if (required) problems.push(`header ${name} is required on ${answer.status} but missing`);
      } else {
        problems.push(...problemsOf(`${operationId} ${answer.status} header ${name}`, schema, value));
      }
    }
    return problems;
  };

  return {
    exercised,
    webhooksChecked,
    methodOf: (operationId: string) => find(operationId).method,
    operationIds: () => [...byId.keys()],
    webhookNames: () => Object.keys(document.webhooks),

    expectDocumented(operationId: string, answer: Answer): Answer {
      const problems = answerProblems(operationId, answer);
      expect({ operationId, status: answer.status, problems }).toEqual({ operationId, status: answer.status, problems: [] });
      if (!exercised.has(operationId)) exercised.set(operationId, new Set());
      exercised.get(operationId)!.add(answer.status);
      return answer;
    },

    /** A payload the platform sends against the request body its webhook documents. */
    webhookProblems(name: string, contentType: string, payload: string): string[] {
      const post = document.webhooks[name]?.post;
      if (!post?.requestBody) return [`no webhook ${name} in openapi.json`];
      const content = deref<{ content: Record<string, { schema: unknown }> }>(post.requestBody).content[contentType];
      if (!content) return [`${name} is documented without ${contentType}`];
      webhooksChecked.add(name);
      const value = contentType === 'application/x-www-form-urlencoded' ? Object.fromEntries(new URLSearchParams(payload)) : (JSON.parse(payload) as unknown);
      return problemsOf(`webhook ${name} ${contentType}`, content.schema, value);
    },
  };
}
