import { http, newAccountWithNumber, send, TO, waitForMessage, type TestAccount } from './support';

describe('ReachCell: one message from send to delivered', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await newAccountWithNumber();
  });

  it('answers 202 with the seed document shape, then goes dispatched → sent → delivered', async () => {
    const response = await send(account, TO, 'Your verification code is 482910');
    expect(response.status).toBe(202);
    expect(response.body).toEqual({
      success: true,
      data: {
        message_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        from: account.number,
        to: TO,
        body: 'Your verification code is 482910',
        status: 'dispatched',
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      },
    });
    const id = response.body.data.message_id;

    const seen = new Set<string>();
    const delivered = await waitForMessage(account, id, (m) => {
      seen.add(m.status);
      return m.status === 'delivered';
    });
    expect(delivered).toMatchObject({
      message_id: id,
      from: account.number,
      to: TO,
      direction: 'outbound',
      segment_count: 1,
      status: 'delivered',
      failure_reason: null,
      cost_usd: null,
    });
    expect(Date.parse(delivered.sent_at ?? '')).toBeGreaterThanOrEqual(Date.parse(delivered.created_at));
    expect(Date.parse(delivered.delivered_at ?? '')).toBeGreaterThanOrEqual(Date.parse(delivered.sent_at ?? ''));
    expect(seen.has('sent') || seen.has('dispatched')).toBe(true);
  });

  it('can be read right after the send (read-your-writes), before the projection has it', async () => {
    const response = await send(account, TO, 'read me at once');
    const get = await http('GET', `/v1/sms/${response.body.data.message_id}`, { key: account.apiKey });
    expect(get.status).toBe(200);
    expect(get.body.data.body).toBe('read me at once');
  });

  it('counts segments by the GSM-7 and UCS-2 rules', async () => {
    const cases: Array<[string, number]> = [
      ['a'.repeat(160), 1],
      ['a'.repeat(161), 2],
      ['€'.repeat(80), 1], // extension table: two septets each
      ['€'.repeat(81), 2],
      ['é'.repeat(160), 1], // é is in the GSM-7 basic table
      ['ç'.repeat(70), 1], // ç is not: UCS-2
      ['ç'.repeat(71), 2],
      ['😀'.repeat(35), 1], // outside the BMP: two UTF-16 units each
    ];
    for (const [body, expected] of cases) {
      const response = await send(account, TO, body);
      expect(response.status).toBe(202);
      const data = await waitForMessage(account, response.body.data.message_id, () => true);
      expect({ length: body.length, segments: data.segment_count }).toEqual({ length: body.length, segments: expected });
    }
  });

  it('charges overage per segment in cost_usd once the plan allowance is used up', async () => {
    const small = await newAccountWithNumber({ allowance: 2, overagePrice: 0.01 });
    const first = await send(small, TO, 'a'.repeat(161)); // 2 segments: exactly the allowance
    const firstDone = await waitForMessage(small, first.body.data.message_id, (m) => m.status === 'delivered');
    expect(firstDone.cost_usd).toBeNull();
    const second = await send(small, TO, 'a'.repeat(200)); // 2 more segments, all overage
    const secondDone = await waitForMessage(small, second.body.data.message_id, (m) => m.status === 'delivered' && m.cost_usd !== null);
    expect(secondDone.cost_usd).toBeCloseTo(0.02, 6);
  });
});
