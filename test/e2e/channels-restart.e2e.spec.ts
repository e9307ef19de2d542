import { DeviceSimulator } from '@reach/device-gateway';
import { SmscSimulator } from '@reach/smpp-channel';
import { exited, startOwnPlatform, type OwnPlatform } from './own-platform';

/**
 * The dispatcher dies (SIGKILL) while messages on both real channels are sent and their outcome
 * is still owed. A new dispatcher takes the channels over; the phone reconnects through the edge
 * and repeats the reports nobody acknowledged, the SMSC re-sends the receipts nobody answered.
 * Every message ends delivered, with exactly one delivered event: nothing lost, nothing twice.
 */
jest.setTimeout(120_000);

const PORT_OFFSET = 60;
const TO = '+14155553000';
const MESSAGES = 5;

describe('Real channels across a dispatcher crash', () => {
  let own: OwnPlatform;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    const basePort = Number(process.env['E2E_BASE_PORT_IN_USE'] ?? 4300) + PORT_OFFSET;
    own = await startOwnPlatform('chan', PORT_OFFSET, {
      // The launcher gives the dispatcher base + 5; a dispatcher started by the test needs it too.
      DEVICE_GATEWAY_PORT: String(basePort + 5),
      CHANNEL_REFRESH_INTERVAL_MS: '300',
      DEVICE_HEARTBEAT_INTERVAL_MS: '1000',
    });
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await own?.stop();
  });

  async function send(apiKey: string, from: string, body: string): Promise<string> {
    const response = await fetch(`${own.gatewayUrl}/v1/sms/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from, to: TO, body }),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { data: { message_id: string } }).data.message_id;
  }

  async function counts(ids: string[]): Promise<Map<string, Record<string, number>>> {
    return own.withDatabase(async (db) => {
      const result = await db.query<{ stream_id: string; type: string; n: string }>(
        `select stream_id, type, count(*) as n from events where stream_id = any($1) group by stream_id, type`,
        [ids.map((id) => `message-${id}`)],
      );
      const byMessage = new Map<string, Record<string, number>>(ids.map((id) => [id, {}]));
      for (const row of result.rows) byMessage.get(row.stream_id.slice('message-'.length))![row.type] = Number(row.n);
      return byMessage;
    });
  }

  async function until(check: () => Promise<boolean>, what: string, timeoutMs = 45_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const allHave = (type: string) => async (ids: string[]) => [...(await counts(ids)).values()].every((c) => (c[type] ?? 0) >= 1);

  it('loses no outcome and records none twice', async () => {
    const account = await own.reachctl<{ accountId: string; apiKey: string }>('account', 'create', '--name', 'restart');
    const phoneNumber = '+14155550161';
    const carrierNumber = '+14155550162';
    await own.reachctl('number', 'add', '--account', account.accountId, '--number', phoneNumber);
    await own.reachctl('number', 'add', '--account', account.accountId, '--number', carrierNumber);

    // A phone whose delivery reports come late, and an SMSC whose receipts come late.
    const device = await own.reachctl<{ deviceId: string; token: string }>('device', 'create', '--account', account.accountId);
    await own.reachctl('device', 'bind', '--device', device.deviceId, '--number', phoneNumber);
    const phone = new DeviceSimulator({
      url: `${own.gatewayUrl.replace(/^http/, 'ws')}/v1/device`,
      token: device.token,
      sendLatencyMs: 20,
      deliveryLatencyMs: 4000,
      reconnectDelayMs: 200,
    });
    closers.push(() => phone.close());
    const smsc = await SmscSimulator.start({ systemId: 'reach', password: 'secret', port: 0, dlrDelayMs: 4000 });
    closers.push(() => smsc.close());
    const connector = await own.reachctl<{ connectorId: string }>(
      'connector', 'add', '--account', account.accountId, '--name', 'restart-smsc',
      '--host', '127.0.0.1', '--port', String(smsc.port), '--system-id', 'reach', '--password', 'secret',
    );
    await own.reachctl('connector', 'route', '--connector', connector.connectorId, '--number', carrierNumber);
    await until(async () => {
      try {
        await phone.connect();
        return true;
      } catch {
        return false;
      }
    }, 'the phone to connect');
    await until(async () => smsc.boundSessions > 0, 'the SMPP bind');

    const viaPhone: string[] = [];
    const viaCarrier: string[] = [];
    for (let i = 1; i <= MESSAGES; i++) {
      viaPhone.push(await send(account.apiKey, phoneNumber, `phone ${i}`));
      viaCarrier.push(await send(account.apiKey, carrierNumber, `carrier ${i}`));
    }
    const all = [...viaPhone, ...viaCarrier];
    await until(() => allHave('MessageSent')(all), 'every message to be sent');
    expect([...(await counts(all)).values()].some((c) => c['MessageDelivered'])).toBe(false);

    // The dispatcher dies with every outcome still owed.
    const dispatcher = own.child('dispatcher');
    dispatcher.kill('SIGKILL');
    await exited(dispatcher.pid!);
    await own.startService('dispatcher', own.basePort + 1);

    await until(() => allHave('MessageDelivered')(all), 'every message to be delivered', 60_000).catch(async (error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify([...(await counts(all)).entries()])}`);
    });
    // Let repeats (reports re-sent after the reconnect, receipts re-sent by the SMSC) arrive.
    await new Promise((r) => setTimeout(r, 1500));
    for (const [id, c] of await counts(all)) {
      expect({ id, dispatched: c['MessageDispatched'], sent: c['MessageSent'], delivered: c['MessageDelivered'] }).toEqual({
        id,
        dispatched: 1,
        sent: 1,
        delivered: 1,
      });
    }
    // The phone's commands were not sent again: it had reported on every one of them.
    expect(phone.commands.map((c) => c.messageId).sort()).toEqual([...viaPhone].sort());
    // Each carrier message was submitted once: its part had its resp before the crash.
    for (let i = 1; i <= MESSAGES; i++) expect(smsc.submits.filter((s) => s.text === `carrier ${i}`)).toHaveLength(1);
  });
});
