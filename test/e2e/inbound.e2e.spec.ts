import { http, newAccountWithNumber, reachctl, type TestAccount, type ListBody, type ReachCellMessageJson } from './support';

describe('ReachCell: inbound SMS', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await newAccountWithNumber();
  });

  it('an SMS arriving at a provisioned number is listed and fetched as inbound / received', async () => {
    const { messageId } = await reachctl<{ messageId: string }>(
      'simulate', 'inbound', '--from', '+14155559876', '--to', account.number, '--body', 'Hello from a customer', '--json',
    );

    let listed: ReachCellMessageJson | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const list = await http<ListBody>('GET', '/v1/sms?direction=inbound', { key: account.apiKey });
      listed = list.body.data.find((m) => m.message_id === messageId);
      if (listed) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(listed).toMatchObject({
      message_id: messageId,
      from: '+14155559876',
      to: account.number,
      body: 'Hello from a customer',
      direction: 'inbound',
      status: 'received',
      segment_count: 1,
    });

    const get = await http('GET', `/v1/sms/${messageId}`, { key: account.apiKey });
    expect(get.status).toBe(200);
    expect(get.body.data).toEqual(listed);

    const outboundOnly = await http<ListBody>('GET', '/v1/sms?direction=outbound', { key: account.apiKey });
    expect(outboundOnly.body.data.some((m) => m.message_id === messageId)).toBe(false);
    const received = await http<ListBody>('GET', '/v1/sms?status=received', { key: account.apiKey });
    expect(received.body.data.map((m) => m.message_id)).toContain(messageId);
  });
});
