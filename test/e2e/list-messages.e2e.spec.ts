import { http, newAccountWithNumber, reachctl, send, waitForMessage, type TestAccount, type ListBody } from './support';

describe('ReachCell: GET /v1/sms', () => {
  let account: TestAccount;
  const sentIds: string[] = [];

  beforeAll(async () => {
    account = await newAccountWithNumber();
    for (let i = 0; i < 5; i++) {
      const response = await send(account, i % 2 === 0 ? '+14155553000' : '+14155553001', `list ${i}`);
      sentIds.push(response.body.data.message_id);
      await new Promise((r) => setTimeout(r, 1100)); // distinct created_at seconds, for a visible order
    }
    for (const id of sentIds) await waitForMessage(account, id, (m) => m.status === 'delivered');
    await reachctl('simulate', 'inbound', '--from', '+14155553000', '--to', account.number, '--body', 'inbound one', '--json');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const list = await http<ListBody>('GET', '/v1/sms?direction=inbound', { key: account.apiKey });
      if (list.body.meta.total === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);

  it('lists newest first with meta', async () => {
    const list = await http<ListBody>('GET', '/v1/sms?direction=outbound', { key: account.apiKey });
    expect(list.status).toBe(200);
    expect(list.body.data.map((m) => m.message_id)).toEqual([...sentIds].reverse());
    expect(list.body.meta).toEqual({ total: 5, page: 1, per_page: 20, total_pages: 1 });
  });

  it('pages from 1 with per_page', async () => {
    const page1 = await http<ListBody>('GET', '/v1/sms?direction=outbound&per_page=2', { key: account.apiKey });
    const page3 = await http<ListBody>('GET', '/v1/sms?direction=outbound&per_page=2&page=3', { key: account.apiKey });
    const page4 = await http<ListBody>('GET', '/v1/sms?direction=outbound&per_page=2&page=4', { key: account.apiKey });
    expect(page1.body.data.map((m) => m.message_id)).toEqual([sentIds[4], sentIds[3]]);
    expect(page1.body.meta).toEqual({ total: 5, page: 1, per_page: 2, total_pages: 3 });
    expect(page3.body.data.map((m) => m.message_id)).toEqual([sentIds[0]]);
    expect(page4.body.data).toEqual([]);
    expect(page4.body.meta).toEqual({ total: 5, page: 4, per_page: 2, total_pages: 3 });
  });

  it('filters by number (either end), direction and status', async () => {
    const byNumber = await http<ListBody>('GET', `/v1/sms?number=${encodeURIComponent('+14155553001')}`, { key: account.apiKey });
    expect(byNumber.body.data.map((m) => m.message_id)).toEqual([sentIds[3], sentIds[1]]);
    const byOwnNumber = await http<ListBody>('GET', `/v1/sms?number=${encodeURIComponent(account.number)}`, { key: account.apiKey });
    expect(byOwnNumber.body.meta.total).toBe(6);
    const inbound = await http<ListBody>('GET', '/v1/sms?direction=inbound', { key: account.apiKey });
    expect(inbound.body.data).toHaveLength(1);
    expect(inbound.body.data[0]?.body).toBe('inbound one');
    const delivered = await http<ListBody>('GET', '/v1/sms?status=delivered', { key: account.apiKey });
    expect(delivered.body.meta.total).toBe(5);
    const failed = await http<ListBody>('GET', '/v1/sms?status=failed', { key: account.apiKey });
    expect(failed.body.meta.total).toBe(0);
  });

  it('filters by from_date and to_date, inclusive, in UTC', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const onlyToday = await http<ListBody>('GET', `/v1/sms?from_date=${today}&to_date=${today}`, { key: account.apiKey });
    expect(onlyToday.body.meta.total).toBe(6);
    const fromTomorrow = await http<ListBody>('GET', `/v1/sms?from_date=${tomorrow}`, { key: account.apiKey });
    expect(fromTomorrow.body.meta.total).toBe(0);
    const untilYesterday = await http<ListBody>('GET', `/v1/sms?to_date=${yesterday}`, { key: account.apiKey });
    expect(untilYesterday.body.meta.total).toBe(0);
  });
});
