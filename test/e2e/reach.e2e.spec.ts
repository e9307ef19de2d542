import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freshNumber, http, newAccountWithNumber, platform, reachctl, send, TO, waitForMessage, withDatabase, type TestAccount } from './support';

const runFile = promisify(execFile);

// Waits for delivery over the simulated channel; jest's default 5 s is tight when the machine is busy.
jest.setTimeout(30_000);

interface MessageItem {
  appletId: string;
  apiVersion: string;
  body: string;
  dest: string;
  src: string;
  bulkId: string | null;
  numSegments: number;
  numMedia: number;
  price: number | null;
  priceUnit: string | null;
  messageId: string;
  status: string;
  messageType: string;
  errorCode: number | null;
  errorMessage: string | null;
  dateCreated: string;
  dateSent: string | null;
  dateUpdated: string;
}

interface ReachErrorJson {
  status: number;
  errorCode: number;
  errorMessage: string;
  errorDetails: unknown;
  more_info: string;
}

interface ReachList {
  page: number;
  pageSize: number;
  totalMessages: number;
  totalPages: number;
  outOfPageRange: boolean;
  messages: MessageItem[];
}

type Params = Record<string, string>;

/** A Reach call as the official clients make it: form-encoded, ApiUser + ApiKey headers. */
async function reach<T = MessageItem>(
  method: 'GET' | 'POST' | 'DELETE',
  call: string,
  account: Pick<TestAccount, 'apiUser' | 'apiKey'> | null,
  params: Params = {},
  options: { headers?: Record<string, string>; json?: unknown } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (account) Object.assign(headers, { ApiUser: account.apiUser, ApiKey: account.apiKey });
  const query = new URLSearchParams(params).toString();
  if (options.json !== undefined) return http<T>(method, `/rest/messaging/v1/${call}`, { headers, json: options.json });
  if (method === 'POST') {
    return http<T>(method, `/rest/messaging/v1/${call}`, { headers, rawBody: query, contentType: 'application/x-www-form-urlencoded' });
  }
  return http<T>(method, `/rest/messaging/v1/${call}${query ? `?${query}` : ''}`, { headers });
}

const create = (account: TestAccount, params: Params) => reach('POST', 'create', account, { src: account.number, dest: TO, ...params });
const fetchItem = (account: TestAccount, messageId: string) => reach('GET', 'fetch', account, { messageId });

async function waitForReach(account: TestAccount, messageId: string, predicate: (m: MessageItem) => boolean, timeoutMs = 15_000): Promise<MessageItem> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetchItem(account, messageId);
    if (r.status === 200 && predicate(r.body)) return r.body;
    if (Date.now() > deadline) throw new Error(`message ${messageId} did not reach the expected state; last: ${JSON.stringify(r.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function expectReachError(result: { status: number; body: unknown }, status: number, errorCode: number): void {
  expect({ status: result.status, body: result.body }).toEqual({
    status,
    body: {
      status,
      errorCode,
      errorMessage: expect.any(String),
      errorDetails: (result.body as ReachErrorJson | null)?.errorDetails ?? null,
      more_info: expect.stringContaining(String(errorCode)),
    },
  });
}

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('Reach messaging dialect', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await newAccountWithNumber();
  });

  describe('create', () => {
    it('runs the seed\'s curl example (--data-urlencode) and answers a MessageItem', async () => {
      const { stdout } = await runFile('curl', [
        '-s', '-X', 'POST', `${platform.gatewayUrl}/rest/messaging/v1/create`,
        '--data-urlencode', `dest=${TO}`,
        '--data-urlencode', `src=${account.number}`,
        '--data-urlencode', 'body=Hello World! This is a sms message.',
        '-H', `ApiUser: ${account.apiUser}`, '-H', `ApiKey: ${account.apiKey}`,
      ]);
      const item = JSON.parse(stdout) as MessageItem;
      expect(item).toEqual({
        appletId: account.accountId,
        apiVersion: '1.0.0',
        body: 'Hello World! This is a sms message.',
        dest: TO,
        src: account.number,
        bulkId: null,
        numSegments: 1,
        numMedia: 0,
        price: 0.0079,
        priceUnit: 'usd',
        messageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        status: 'queued',
        messageType: 'outbound',
        errorCode: null,
        errorMessage: null,
        dateCreated: expect.stringMatching(ISO_MS),
        dateSent: null,
        dateUpdated: expect.stringMatching(ISO_MS),
      });
      const delivered = await waitForReach(account, item.messageId, (m) => m.status === 'delivered');
      expect(delivered.dateSent).toMatch(ISO_MS);
    });

    it('accepts JSON bodies too, with every optional parameter', async () => {
      const r = await reach('POST', 'create', account, {}, {
        json: { src: account.number, dest: TO, body: 'json', bulkIdentifier: 'bulk-json', validityPeriod: 600, statusCallback: 'https://example.com/cb', maxPrice: 1 },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ bulkId: 'bulk-json', status: 'queued', body: 'json' });
    });

    it('schedules a message (status scheduled, no dateSent)', async () => {
      const r = await create(account, { body: 'later', scheduledTime: inSeconds(600) });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'scheduled', dateSent: null });
      expect((await fetchItem(account, r.body.messageId)).body.status).toBe('scheduled');
    });

    it('accepts a message above maxPrice and fails it with 20201', async () => {
      const r = await create(account, { body: 'too dear', maxPrice: '0.000001' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'failed', errorCode: 20201, errorMessage: expect.any(String), price: 0.0079 });
      const fetched = await waitForReach(account, r.body.messageId, () => true);
      expect(fetched).toMatchObject({ status: 'failed', errorCode: 20201 });
    });

    it('refuses with 20202 when a prepaid balance cannot pay, and debits one that can', async () => {
      const prepaid = await newAccountWithNumber();
      await reachctl('balance', 'set', '--account', prepaid.accountId, '--amount', '0.01', '--json');
      const first = await create(prepaid, { body: 'paid' });
      expect(first.status).toBe(200);
      expect(await reachctl('balance', 'show', '--account', prepaid.accountId, '--json')).toMatchObject({ balance: 0.0021 });
      expectReachError(await create(prepaid, { body: 'cannot pay' }), 402, 20202);
      expect(await reachctl('balance', 'show', '--account', prepaid.accountId, '--json')).toMatchObject({ balance: 0.0021 });
    });

    it('sends from an alphanumeric sender id registered to the applet, and refuses others (20102)', async () => {
      await reachctl('sender', 'add', '--account', account.accountId, '--sender', 'Acme', '--json');
      const ok = await create(account, { src: 'Acme', body: 'from a sender id' });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ src: 'Acme', status: 'queued' });
      expectReachError(await create(account, { src: 'Other', body: 'x' }), 400, 20102);
      expectReachError(await create(account, { src: freshNumber(), body: 'not ours' }), 400, 20102);
    });

    it.each<[string, Params, number]>([
      ['10002 missing dest', { dest: '' }, 10002],
      ['20101 bad dest', { dest: '12345' }, 20101],
      ['20102 malformed src', { src: 'no_underscores' }, 20102],
      ['20103 blank body', { body: '   ' }, 20103],
      ['20104 scheduledTime in the past', { body: 'x', scheduledTime: '2016-08-31T01:23:45Z' }, 20104],
      ['20104 scheduledTime beyond 5 days', { body: 'x', scheduledTime: inSeconds(6 * 86_400) }, 20104],
      ['20105 validityPeriod 0', { body: 'x', validityPeriod: '0' }, 20105],
      ['20106 statusCallback with an underscore', { body: 'x', statusCallback: 'https://my_host.example.com/cb' }, 20106],
      ['20108 more than 10 segments', { body: 'a'.repeat(1540) }, 20108],
      ['20103 longer than 1600', { body: 'a'.repeat(1601) }, 20103],
      ['20109 maxPrice 0', { body: 'x', maxPrice: '0' }, 20109],
    ])('refuses %s', async (_name, params, code) => {
      expectReachError(await create(account, { body: 'x', ...params }), 400, code);
    });

    it('refuses a body that fits neither GSM-7 nor UCS-2 (20107)', async () => {
      expectReachError(await reach('POST', 'create', account, {}, { json: { src: account.number, dest: TO, body: 'bad \ud800' } }), 400, 20107);
    });

    it('refuses malformed JSON with 10002', async () => {
      const r = await http('POST', '/rest/messaging/v1/create', { headers: { ApiUser: account.apiUser, ApiKey: account.apiKey }, rawBody: '{"dest":' });
      expectReachError(r, 400, 10002);
    });
  });

  describe('authentication and negotiation', () => {
    it('answers 20002 without the headers, 20003 with wrong ones, 10003 when JSON is not acceptable', async () => {
      expectReachError(await reach('GET', 'list', null), 401, 20002);
      expectReachError(await reach('GET', 'list', null, {}, { headers: { ApiUser: account.apiUser } }), 401, 20002);
      expectReachError(await reach('GET', 'list', { apiUser: account.apiUser, apiKey: 'ak_wrong' }), 401, 20003);
      expectReachError(await reach('GET', 'list', account, {}, { headers: { Accept: 'text/html' } }), 406, 10003);
      expect((await reach('GET', 'list', account, {}, { headers: { Accept: 'application/json' } })).status).toBe(200);
    });

    it('answers 20005 for a suspended applet', async () => {
      const suspended = await newAccountWithNumber();
      await withDatabase((c) => c.query(`update accounts set status = 'suspended' where id = $1`, [suspended.accountId]));
      expectReachError(await reach('GET', 'list', suspended), 403, 20005);
    });

    it('answers unknown routes under /rest in the Reach format, and ReachCell still refuses forms (415)', async () => {
      expectReachError(await reach('GET', 'nope', account), 404, 20404);
      const form = await http('POST', '/v1/sms/send', { key: account.apiKey, rawBody: `from=${account.number}`, contentType: 'application/x-www-form-urlencoded' });
      expect(form.status).toBe(415);
      expect(form.body).toMatchObject({ success: false, error: { code: 'unsupported_media_type' } });
    });
  });

  describe('fetch', () => {
    it('needs a messageId (10002) and answers 404 for unknown, malformed and other applets\' ids', async () => {
      expectReachError(await reach('GET', 'fetch', account), 400, 10002);
      expectReachError(await fetchItem(account, '2a583efc-0c41-47b5-a1fe-885fc7ec2720'), 404, 20404);
      expectReachError(await fetchItem(account, 'MIDXXXX'), 404, 20404);
      const mine = await create(account, { body: 'private' });
      const other = await newAccountWithNumber();
      expectReachError(await fetchItem(other, mine.body.messageId), 404, 20404);
    });
  });

  describe('list', () => {
    it('filters by dest, src, bulkIdentifier and sent time, newest first, with 0-based pages', async () => {
      const lister = await newAccountWithNumber();
      const dest = freshNumber();
      const ids: string[] = [];
      for (const body of ['one', 'two', 'three']) {
        const r = await create(lister, { dest, body, bulkIdentifier: 'bulk-list' });
        ids.push(r.body.messageId);
      }
      await create(lister, { body: 'elsewhere' });
      for (const id of ids) await waitForReach(lister, id, (m) => m.dateSent !== null);

      const all = await reach<ReachList>('GET', 'list', lister, { bulkIdentifier: 'bulk-list' });
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ page: 0, pageSize: 20, totalMessages: 3, totalPages: 1, outOfPageRange: false });
      expect(all.body.messages.map((m) => m.messageId)).toEqual([...ids].reverse());

      const paged = await reach<ReachList>('GET', 'list', lister, { dest, page: '1', pageSize: '2' });
      expect(paged.body).toMatchObject({ page: 1, pageSize: 2, totalMessages: 3, totalPages: 2, outOfPageRange: false });
      expect(paged.body.messages.map((m) => m.messageId)).toEqual([ids[0]]);
      expect((await reach<ReachList>('GET', 'list', lister, { dest, page: '5' })).body).toMatchObject({ outOfPageRange: true, messages: [] });

      expect((await reach<ReachList>('GET', 'list', lister, { src: lister.number })).body.totalMessages).toBe(4);
      const today = new Date().toISOString().slice(0, 10);
      expect((await reach<ReachList>('GET', 'list', lister, { dest, sentAt: today })).body.totalMessages).toBe(3);
      expect((await reach<ReachList>('GET', 'list', lister, { dest, sentAfter: inSeconds(60) })).body.totalMessages).toBe(0);
      expect((await reach<ReachList>('GET', 'list', lister, { dest, sentBefore: inSeconds(60), sentAfter: inSeconds(-600) })).body.totalMessages).toBe(3);
    });

    it('refuses a bad pageSize (20006) and a bad page (20007)', async () => {
      expectReachError(await reach('GET', 'list', account, { pageSize: '0' }), 400, 20006);
      expectReachError(await reach('GET', 'list', account, { page: '-1' }), 400, 20007);
    });
  });

  describe('update, unschedule, delete', () => {
    it('update redacts the stored text: body "" from then on', async () => {
      const r = await create(account, { body: 'secret 482910' });
      const updated = await reach('POST', 'update', account, { messageId: r.body.messageId, body: '' });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ messageId: r.body.messageId, body: '' });
      expect((await waitForReach(account, r.body.messageId, (m) => m.body === '')).body).toBe('');
      expectReachError(await reach('POST', 'update', account, { messageId: r.body.messageId, body: 'new text' }), 400, 10002);
      expectReachError(await reach('POST', 'update', account, { body: '' }), 400, 10002);
    });

    it('unschedule cancels a scheduled message; delete then removes it from fetch and list', async () => {
      const r = await create(account, { body: 'cancel me', scheduledTime: inSeconds(600), bulkIdentifier: 'bulk-del' });
      const canceled = await reach('POST', 'unschedule', account, { messageId: r.body.messageId });
      expect(canceled.status).toBe(200);
      expect(canceled.body).toMatchObject({ messageId: r.body.messageId, status: 'canceled' });
      await waitForReach(account, r.body.messageId, (m) => m.status === 'canceled');

      const deleted = await reach('DELETE', 'delete', account, { messageId: r.body.messageId });
      expect(deleted.status).toBe(204);
      expectReachError(await fetchItem(account, r.body.messageId), 404, 20404);
      const deadline = Date.now() + 10_000;
      while ((await reach<ReachList>('GET', 'list', account, { bulkIdentifier: 'bulk-del' })).body.totalMessages !== 0) {
        if (Date.now() > deadline) throw new Error('deleted message still listed');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expectReachError(await reach('DELETE', 'delete', account, { messageId: r.body.messageId }), 404, 20404);
      expectReachError(await reach('POST', 'unschedule', account, { messageId: r.body.messageId }), 404, 20404);
    });

    it('unschedule of a message already sent is too late (20301); delete of an unfinished one is refused (20302)', async () => {
      const r = await create(account, { body: 'on its way' });
      expectReachError(await reach('DELETE', 'delete', account, { messageId: r.body.messageId }), 400, 20302);
      await waitForReach(account, r.body.messageId, (m) => m.status === 'delivered');
      expectReachError(await reach('POST', 'unschedule', account, { messageId: r.body.messageId }), 400, 20301);
      expect((await reach('DELETE', 'delete', account, { messageId: r.body.messageId })).status).toBe(204);
    });

    it('takes messageId from the query string on a POST too', async () => {
      const r = await create(account, { body: 'query id', scheduledTime: inSeconds(600) });
      const result = await http<MessageItem>('POST', `/rest/messaging/v1/unschedule?messageId=${r.body.messageId}`, {
        headers: { ApiUser: account.apiUser, ApiKey: account.apiKey },
      });
      expect(result.body).toMatchObject({ status: 'canceled' });
    });
  });

  describe('one message, two dialects', () => {
    it('fetches and lists a Reach message through ReachCell', async () => {
      const r = await create(account, { body: 'seen by both', bulkIdentifier: 'cross' });
      const viaReachCell = await waitForMessage(account, r.body.messageId, (m) => m.status === 'delivered');
      expect(viaReachCell).toMatchObject({ from: account.number, to: TO, body: 'seen by both', direction: 'outbound' });
      const list = await http<{ data: Array<{ message_id: string }> }>('GET', '/v1/sms?direction=outbound&per_page=100', { key: account.apiKey });
      expect(list.body.data.map((m) => m.message_id)).toContain(r.body.messageId);
    });

    it('fetches and lists a ReachCell message through Reach', async () => {
      const sent = await send(account, TO, 'sent by ReachCell');
      const id = sent.body.data.message_id;
      const item = await waitForReach(account, id, (m) => m.status === 'delivered');
      expect(item).toMatchObject({ messageId: id, src: account.number, dest: TO, body: 'sent by ReachCell', messageType: 'outbound', price: null });
      const list = await reach<ReachList>('GET', 'list', account, { src: account.number, pageSize: '1000' });
      expect(list.body.messages.map((m) => m.messageId)).toContain(id);
    });
  });
});

describe('Reach messaging dialect: limits on create', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await newAccountWithNumber();
  });

  it('answers a repeated create with the same Idempotency-Key with the original MessageItem, sending once', async () => {
    const headers = { 'Idempotency-Key': `reach-${Date.now()}` };
    const first = await reach('POST', 'create', account, { src: account.number, dest: TO, body: 'once only' }, { headers });
    const again = await reach('POST', 'create', account, { src: account.number, dest: TO, body: 'once only' }, { headers });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body.messageId).toBe(first.body.messageId);
    const other = await reach('POST', 'create', account, { src: account.number, dest: TO, body: 'something else' }, { headers });
    expect(other.status).toBe(400);
    expect((other.body as unknown as { errorCode: number }).errorCode).toBe(20422);
  });

  it('answers 429 with Retry-After, in the Reach error body, beyond the concurrency limit', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => reach('POST', 'create', account, { src: account.number, dest: TO, body: `burst ${i}` })),
    );
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body).toMatchObject({ status: 429, errorCode: 20429 });
    }
    expect(results.every((r) => r.status === 200 || r.status === 429)).toBe(true);
  });
});

describe('Reach messaging dialect: time', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await newAccountWithNumber();
  });

  it('releases a scheduled message at its time (not before), and it is then delivered', async () => {
    const due = new Date(Date.now() + 3_000);
    const r = await create(account, { body: 'at three seconds', scheduledTime: due.toISOString() });
    expect(r.body.status).toBe('scheduled');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await fetchItem(account, r.body.messageId)).body.status).toBe('scheduled');
    const delivered = await waitForReach(account, r.body.messageId, (m) => m.status === 'delivered', 20_000);
    expect(Date.parse(delivered.dateSent ?? '')).toBeGreaterThanOrEqual(due.getTime());
    // Released within a second of its time (plus the simulated phone's send latency).
    expect(Date.parse(delivered.dateSent ?? '')).toBeLessThan(due.getTime() + 2_500);
  });

  it('fails a message whose validity period ends while its phone is offline, and never sends it', async () => {
    await reachctl('device', 'offline', '--number', account.number);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const r = await create(account, { body: 'too late for me', validityPeriod: '2' });
    expect(r.body.status).toBe('queued');
    const failed = await waitForReach(account, r.body.messageId, (m) => m.status === 'failed', 15_000);
    expect(failed).toMatchObject({ errorCode: 30001, dateSent: null });
    expect(failed.errorMessage).toMatch(/validity/i);
    await reachctl('device', 'online', '--number', account.number);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await fetchItem(account, r.body.messageId)).body).toMatchObject({ status: 'failed', dateSent: null });
  });
});
