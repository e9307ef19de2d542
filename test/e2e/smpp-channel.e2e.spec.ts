import { SmscSimulator, type SimulatedDlrOutcome } from '@reach/smpp-channel';
import { http, newAccountWithNumber, reachctl, send, TO, waitForMessage, withDatabase, type ListBody, type TestAccount } from './support';

/**
 * The SMPP channel end to end: the platform's dispatcher binds to a simulated SMSC over TCP (the
 * `smpp` package on both sides), messages go in through the public API and come out as submit_sm;
 * receipts and MO messages come back as deliver_sm.
 */
jest.setTimeout(60_000);

const simulators: SmscSimulator[] = [];

afterAll(async () => {
  await Promise.all(simulators.map((s) => s.close()));
});

async function smsc(dlrOutcome: SimulatedDlrOutcome = 'delivered'): Promise<SmscSimulator> {
  const simulator = await SmscSimulator.start({ systemId: 'reach', password: 'secret', port: 0, dlrDelayMs: 100, dlrOutcome });
  simulators.push(simulator);
  return simulator;
}

/** A fresh account whose number is routed to a connector of its own, bound to `simulator`. */
async function accountOn(simulator: SmscSimulator): Promise<TestAccount> {
  const account = await newAccountWithNumber();
  const added = await reachctl<{ connectorId: string }>(
    'connector', 'add', '--account', account.accountId, '--name', `e2e-${account.accountId.slice(0, 8)}`,
    '--host', '127.0.0.1', '--port', String(simulator.port), '--system-id', 'reach', '--password', 'secret', '--json',
  );
  await reachctl('connector', 'route', '--connector', added.connectorId, '--number', account.number, '--json');
  // The dispatcher picks up new connectors on its refresh (CHANNEL_REFRESH_INTERVAL_MS in global-setup).
  await until(async () => simulator.boundSessions > 0);
  return account;
}

interface StoredEvent {
  type: string;
  data: Record<string, unknown>;
}

async function eventsOf(messageId: string): Promise<StoredEvent[]> {
  return withDatabase(async (db) => {
    const result = await db.query<StoredEvent>(`select type, data from events where stream_id = $1 order by revision`, [`message-${messageId}`]);
    return result.rows;
  });
}

interface ReachItem {
  status: string;
  errorCode: number | null;
  errorMessage: string | null;
  numSegments: number;
}

async function reachItem(account: TestAccount, messageId: string): Promise<ReachItem> {
  const response = await http<ReachItem>('GET', `/rest/messaging/v1/fetch?messageId=${messageId}`, {
    headers: { ApiUser: account.apiUser, ApiKey: account.apiKey },
  });
  return response.body;
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SMPP channel over the real protocol', () => {
  let delivering: SmscSimulator;
  let account: TestAccount;

  beforeAll(async () => {
    delivering = await smsc('delivered');
    account = await accountOn(delivering);
  });

  it('submits a GSM-7 message as one part (data_coding 0) and records sent with the carrier id, then delivered with the receipt date', async () => {
    const id = (await send(account, TO, 'Your code is 123456')).body.data.message_id;
    await waitForMessage(account, id, (m) => m.status === 'delivered');
    const submits = delivering.submits.filter((s) => s.text === 'Your code is 123456');
    expect(submits).toEqual([expect.objectContaining({ dataCoding: 0, destination: TO.slice(1), udh: [] })]);
    const events = await eventsOf(id);
    expect(events.find((e) => e.type === 'MessageSent')?.data).toMatchObject({ providerMessageId: submits[0]!.messageId });
    expect(events.find((e) => e.type === 'MessageDelivered')?.data).toMatchObject({ dlrDate: expect.stringMatching(/^\d{10}$/) });
  });

  it('submits a long GSM-7 message as concatenated parts and is delivered only when every part is', async () => {
    const body = 'A long GSM message. '.repeat(12).trim(); // 239 characters: two parts of at most 153
    const id = (await send(account, TO, body)).body.data.message_id;
    const delivered = await waitForMessage(account, id, (m) => m.status === 'delivered');
    expect(delivered.segment_count).toBe(2);
    const parts = delivering.submits.filter((s) => s.destination === TO.slice(1) && body.includes(s.text) && s.udh.length > 0);
    expect(parts).toHaveLength(2);
    expect(parts.every((p) => p.dataCoding === 0)).toBe(true);
    expect(parts.map((p) => p.text).join('')).toBe(body);
  });

  it('submits UCS-2 (data_coding 8) when a character is outside GSM-7, in parts of 67', async () => {
    const body = 'Привет! Ваш заказ готов к выдаче. Спасибо, что выбрали нас — ждём вас снова в нашем магазине.';
    const id = (await send(account, TO, body)).body.data.message_id;
    const delivered = await waitForMessage(account, id, (m) => m.status === 'delivered');
    expect(delivered.segment_count).toBe(2);
    const parts = delivering.submits.filter((s) => body.includes(s.text) && s.dataCoding === 8);
    expect(parts).toHaveLength(2);
    expect(parts.map((p) => p.text).join('')).toBe(body);
  });

  it('keeps sending through a bind that drops: messages sent during the outage are delivered after the reconnect', async () => {
    const binds = delivering.bindCount;
    delivering.dropAll();
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) ids.push((await send(account, TO, `during the outage ${i}`)).body.data.message_id);
    for (const id of ids) await waitForMessage(account, id, (m) => m.status === 'delivered', 30_000);
    expect(delivering.bindCount).toBeGreaterThan(binds);
    for (let i = 1; i <= 3; i++) {
      // At least once over SMPP; here nothing was in flight when the bind dropped, so exactly once.
      expect(delivering.submits.filter((s) => s.text === `during the outage ${i}`)).toHaveLength(1);
    }
  });

  it('records an MO deliver_sm as an inbound message', async () => {
    expect(delivering.injectMo({ source: '14155550177', destination: account.number.slice(1), text: 'HELP' })).toBe(true);
    await until(async () => {
      const list = await http<ListBody>('GET', `/v1/sms?direction=inbound&number=${encodeURIComponent(account.number)}`, { key: account.apiKey });
      return list.body.data.some((m) => m.body === 'HELP' && m.from === '+14155550177' && m.status === 'received');
    });
  });

  it('maps an UNDELIV receipt to undelivered with the carrier error', async () => {
    const undelivering = await smsc('undelivered');
    const other = await accountOn(undelivering);
    const id = (await send(other, TO, 'will not arrive')).body.data.message_id;
    await until(async () => (await reachItem(other, id)).status === 'undelivered');
    const item = await reachItem(other, id);
    expect(item.errorCode).toBe(30005);
    expect(item.errorMessage).toMatch(/UNDELIV/);
  });

  it('maps an EXPIRED receipt to undelivered with the validity error', async () => {
    const expiring = await smsc('expired');
    const other = await accountOn(expiring);
    const id = (await send(other, TO, 'too late')).body.data.message_id;
    await until(async () => (await reachItem(other, id)).status === 'undelivered');
    expect(await reachItem(other, id)).toMatchObject({ errorCode: 30001, errorMessage: expect.stringMatching(/EXPIRED/) });
  });
});
