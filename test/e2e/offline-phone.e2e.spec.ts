import { http, newAccountWithNumber, reachctl, send, TO, waitForMessage, withDatabase, type TestAccount } from './support';

describe('ReachCell: a phone that is offline', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await newAccountWithNumber();
  });

  it('answers queued, holds the messages, and sends them in order when the phone comes back', async () => {
    await reachctl('device', 'offline', '--number', account.number);
    // The gateway mirrors presence through a NATS KV watch: give it a moment to see the change.
    await new Promise((r) => setTimeout(r, 300));

    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const response = await send(account, TO, `queued message ${i}`);
      expect(response.status).toBe(202);
      expect(response.body.data.status).toBe('queued');
      ids.push(response.body.data.message_id);
    }

    // While the phone is away nothing is dispatched, however long we wait.
    await new Promise((r) => setTimeout(r, 1500));
    for (const id of ids) {
      const get = await http('GET', `/v1/sms/${id}`, { key: account.apiKey });
      expect(get.body.data.status).toBe('queued');
      expect(get.body.data.sent_at).toBeNull();
    }

    await reachctl('device', 'online', '--number', account.number);
    for (const id of ids) await waitForMessage(account, id, (m) => m.status === 'delivered');

    // Order: the dispatches were recorded in the order the messages were sent.
    const dispatchOrder = await withDatabase(async (db) => {
      const result = await db.query<{ stream_id: string }>(
        `select stream_id from events where type = 'MessageDispatched' and stream_id = any($1) order by transaction_id, global_position`,
        [ids.map((id) => `message-${id}`)],
      );
      return result.rows.map((r) => r.stream_id.slice('message-'.length));
    });
    expect(dispatchOrder).toEqual(ids);
  });

  it('says dispatched again once the phone is back online', async () => {
    await reachctl('device', 'online', '--number', account.number);
    await new Promise((r) => setTimeout(r, 300));
    const response = await send(account, TO, 'phone is back');
    expect(response.body.data.status).toBe('dispatched');
  });
});
