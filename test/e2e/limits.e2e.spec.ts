import { http, newAccountWithNumber, TO, type ListBody, type MessageBody, type TestAccount } from './support';

/** The e2e platform runs with ACCOUNT_CONCURRENCY_LIMIT=8 (global-setup.ts). */
const LIMIT = 8;

function sendWithKey(account: TestAccount, key: string, body: string) {
  return http<MessageBody>('POST', '/v1/sms/send', {
    key: account.apiKey,
    json: { from: account.number, to: TO, body },
    headers: { 'idempotency-key': key },
  });
}

describe('ReachCell: Idempotency-Key on POST /v1/sms/send', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await newAccountWithNumber();
  });

  it('answers a repeated request with the original answer and sends only once', async () => {
    const fresh = await newAccountWithNumber();
    const key = `order-${Date.now()}-1`;
    const first = await sendWithKey(fresh, key, 'Your code is 111111');
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const again = await sendWithKey(fresh, key, 'Your code is 111111');
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(again.body.data.message_id).toBe(first.body.data.message_id);

    expect(await settledOutboundIds(fresh, 1)).toEqual([first.body.data.message_id]);
  });

  it('refuses the same key with a different body (422 idempotency_key_reused) and sends nothing', async () => {
    const fresh = await newAccountWithNumber();
    const key = `order-${Date.now()}-2`;
    const first = await sendWithKey(fresh, key, 'first body');
    expect(first.status).toBe(202);

    const reused = await sendWithKey(fresh, key, 'another body');
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ success: false, error: { code: 'idempotency_key_reused' } });
    expect(await settledOutboundIds(fresh, 1)).toEqual([first.body.data.message_id]);
  });

  it('replays a refusal too: the same invalid request with the same key gets the same 422', async () => {
    const key = `order-${Date.now()}-3`;
    const first = await http<MessageBody>('POST', '/v1/sms/send', {
      key: account.apiKey,
      json: { from: account.number, to: 'not-a-number', body: 'x' },
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(422);
    const again = await http<MessageBody>('POST', '/v1/sms/send', {
      key: account.apiKey,
      json: { body: 'x', to: 'not-a-number', from: account.number },
      headers: { 'idempotency-key': key },
    });
    expect(again.status).toBe(422);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses a key that is empty, too long or not printable ASCII (400 invalid_idempotency_key)', async () => {
    for (const key of ['k'.repeat(256), 'clé-\u00e9']) {
      const response = await http<MessageBody>('POST', '/v1/sms/send', {
        key: account.apiKey,
        json: { from: account.number, to: TO, body: 'x' },
        headers: { 'idempotency-key': key },
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_idempotency_key');
    }
  });

  it('sends once when the same request races itself: the other gets the same answer or 409 request_in_progress', async () => {
    const fresh = await newAccountWithNumber();
    const key = `race-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 4 }, () => sendWithKey(fresh, key, 'raced')));
    const accepted = answers.filter((a) => a.status === 202);
    const inProgress = answers.filter((a) => a.status === 409);
    expect(accepted.length + inProgress.length).toBe(answers.length);
    expect(new Set(accepted.map((a) => a.body.data.message_id)).size).toBe(1);
    for (const a of inProgress) {
      expect(a.body.error.code).toBe('request_in_progress');
      expect(a.headers.get('retry-after')).toBe('1');
    }
    expect(await settledOutboundIds(fresh, 1)).toEqual([accepted[0]!.body.data.message_id]);
  });
});

describe('ReachCell: per-account concurrency limit', () => {
  it(`answers 429 with Retry-After beyond ${LIMIT} requests in flight, and every accepted message exists`, async () => {
    const account = await newAccountWithNumber();
    const accepted: string[] = [];
    let limited = 0;
    // One burst of 40 almost always overlaps more than 8 requests; a few more make it certain.
    for (let burst = 0; burst < 5 && limited === 0; burst++) {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => http<MessageBody>('POST', '/v1/sms/send', {
        key: account.apiKey,
        json: { from: account.number, to: TO, body: `burst ${burst} #${i}` },
      })));
      for (const answer of answers) {
        if (answer.status === 202) {
          accepted.push(answer.body.data.message_id);
        } else {
          expect(answer.status).toBe(429);
          expect(answer.headers.get('retry-after')).toBe('1');
          expect(answer.body).toMatchObject({ success: false, error: { code: 'rate_limited' } });
          limited += 1;
        }
      }
    }
    expect(limited).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThanOrEqual(LIMIT);

    for (const id of accepted) {
      const message = await http<MessageBody>('GET', `/v1/sms/${id}`, { key: account.apiKey });
      expect(message.status).toBe(200);
    }
    const listed = await settledOutbound(account, accepted.length);
    expect(listed.total).toBe(accepted.length);
    if (accepted.length <= 100) expect([...listed.ids].sort()).toEqual([...accepted].sort());

    // Every slot was given back: the account sends again at once.
    expect((await http('POST', '/v1/sms/send', { key: account.apiKey, json: { from: account.number, to: TO, body: 'after' } })).status).toBe(202);
  });

  it('counts accounts separately: another account is not limited by a busy one', async () => {
    const [busy, calm] = await Promise.all([newAccountWithNumber(), newAccountWithNumber()]);
    const flood = Promise.all(Array.from({ length: 20 }, (_, i) => http('POST', '/v1/sms/send', {
      key: busy.apiKey,
      json: { from: busy.number, to: TO, body: `flood ${i}` },
    })));
    const calmAnswer = await http('POST', '/v1/sms/send', { key: calm.apiKey, json: { from: calm.number, to: TO, body: 'calm' } });
    await flood;
    expect(calmAnswer.status).toBe(202);
  });
});

/**
 * The ids of the account's outbound messages once the list shows `expected` of them and then a
 * little longer (the list reads the projection, a few milliseconds behind the accepts), so a
 * message sent twice would show up.
 */
async function settledOutbound(account: TestAccount, expected: number): Promise<{ total: number; ids: string[] }> {
  const read = async () => {
    const list = await http<ListBody>('GET', '/v1/sms?direction=outbound&per_page=100', { key: account.apiKey });
    expect(list.status).toBe(200);
    return { total: list.body.meta.total, ids: list.body.data.map((m) => m.message_id) };
  };
  const deadline = Date.now() + 10_000;
  while ((await read()).total < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 300));
  return read();
}

async function settledOutboundIds(account: TestAccount, expected: number): Promise<string[]> {
  return (await settledOutbound(account, expected)).ids;
}
