import { http, newAccountWithNumber, send, TO, waitForMessage, type TestAccount, type ListBody } from './support';

describe('ReachCell: accounts never see each other', () => {
  let alice: TestAccount;
  let bob: TestAccount;
  let aliceMessageId: string;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([newAccountWithNumber(), newAccountWithNumber()]);
    const sent = await send(alice, TO, 'for alice only');
    aliceMessageId = sent.body.data.message_id;
    await waitForMessage(alice, aliceMessageId, (m) => m.status === 'delivered');
  });

  it("answers another account's message id exactly like an unknown one", async () => {
    const foreign = await http('GET', `/v1/sms/${aliceMessageId}`, { key: bob.apiKey });
    const unknown = await http('GET', '/v1/sms/00000000-0000-4000-8000-000000000000', { key: bob.apiKey });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
    expect(foreign.body).toEqual({ success: false, error: { code: 'not_found', message: 'Message not found' } });
  });

  it("never lists another account's messages, whatever the filter", async () => {
    for (const query of ['', `?number=${encodeURIComponent(alice.number)}`, '?direction=outbound', '?status=delivered']) {
      const list = await http<ListBody>('GET', `/v1/sms${query}`, { key: bob.apiKey });
      expect(list.status).toBe(200);
      expect(list.body.data.map((m) => m.message_id)).not.toContain(aliceMessageId);
    }
  });

  it("refuses to send from another account's number", async () => {
    const response = await send(bob, TO, 'spoofing', alice.number);
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('number_not_provisioned');
  });
});
