import { randomUUID } from 'node:crypto';
import { DeviceSimulator } from '@reach/device-gateway';
import { http, newAccountWithNumber, platform, reachctl, send, TO, waitForMessage, withDatabase, type ListBody, type TestAccount } from './support';

/**
 * The device channel end to end: a simulated phone speaks the real WebSocket protocol to the
 * public edge (the api-gateway, which routes it to the dispatcher that owns the channels), and
 * messages go through the public API. global-setup.ts shortens the pacing window and heartbeats.
 */
const deviceUrl = `${platform.gatewayUrl.replace(/^http/, 'ws')}/v1/device`;

interface CreatedDevice {
  deviceId: string;
  token: string;
}

async function newDevice(account: TestAccount, options: { sendsPerMinute?: number } = {}): Promise<CreatedDevice> {
  const extra = options.sendsPerMinute === undefined ? [] : ['--sends-per-minute', String(options.sendsPerMinute)];
  const created = await reachctl<CreatedDevice>('device', 'create', '--account', account.accountId, ...extra, '--json');
  await reachctl('device', 'bind', '--device', created.deviceId, '--number', account.number, '--json');
  return { deviceId: created.deviceId, token: created.token };
}

const simulators: DeviceSimulator[] = [];

function simulator(device: CreatedDevice, options: Partial<ConstructorParameters<typeof DeviceSimulator>[0]> = {}): DeviceSimulator {
  const sim = new DeviceSimulator({ url: deviceUrl, token: device.token, sendLatencyMs: 20, deliveryLatencyMs: 40, reconnectDelayMs: 200, ...options });
  simulators.push(sim);
  return sim;
}

/** Connects, retrying while the edge answers 503 (the channel owner is still starting). */
async function connect(sim: DeviceSimulator): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await sim.connect();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

afterAll(async () => {
  await Promise.all(simulators.map((s) => s.close()));
});

async function dispatchOrder(ids: string[]): Promise<string[]> {
  return withDatabase(async (db) => {
    const result = await db.query<{ stream_id: string }>(
      `select stream_id from events where type = 'MessageDispatched' and stream_id = any($1) order by global_position`,
      [ids.map((id) => `message-${id}`)],
    );
    return result.rows.map((r) => r.stream_id.slice('message-'.length));
  });
}

describe('Device channel over the real protocol', () => {
  it('sends through a connected phone: dispatched at once, then sent and delivered as the phone reports', async () => {
    const account = await newAccountWithNumber();
    const device = await newDevice(account);
    const sim = simulator(device);
    await connect(sim);
    await new Promise((r) => setTimeout(r, 300)); // presence reaches the gateway through a KV watch

    const response = await send(account, TO, 'hello from a phone');
    expect(response.status).toBe(202);
    expect(response.body.data.status).toBe('dispatched');
    const delivered = await waitForMessage(account, response.body.data.message_id, (m) => m.status === 'delivered');
    expect(delivered.sent_at).not.toBeNull();
    expect(sim.commands).toEqual([
      expect.objectContaining({ messageId: response.body.data.message_id, destination: TO, body: 'hello from a phone', segments: 1, commandId: response.body.data.message_id }),
    ]);
  });

  it('refuses an unknown token at the edge with 401', async () => {
    const sim = new DeviceSimulator({ url: deviceUrl, token: `dt_${randomUUID().replace(/-/g, '')}`, reconnect: false });
    await expect(sim.connect()).rejects.toMatchObject({ status: 401 });
  });

  it('queues for an offline phone and delivers in order when it connects', async () => {
    const account = await newAccountWithNumber();
    const device = await newDevice(account);
    await new Promise((r) => setTimeout(r, 300));
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) {
      const response = await send(account, TO, `while away ${i}`);
      expect(response.body.data.status).toBe('queued');
      ids.push(response.body.data.message_id);
    }
    await new Promise((r) => setTimeout(r, 800));
    for (const id of ids) expect((await http('GET', `/v1/sms/${id}`, { key: account.apiKey })).body.data.status).toBe('queued');

    const sim = simulator(device);
    await connect(sim);
    for (const id of ids) await waitForMessage(account, id, (m) => m.status === 'delivered');
    expect(sim.commands.map((c) => c.messageId)).toEqual(ids);
    expect(await dispatchOrder(ids)).toEqual(ids);
  });

  it('re-sends a command the phone never acknowledged after it reconnects, and never one it reported sent', async () => {
    const account = await newAccountWithNumber();
    const device = await newDevice(account);
    const sim = simulator(device, { respondUpTo: 'none' });
    await connect(sim);
    await new Promise((r) => setTimeout(r, 300));

    const unacked = (await send(account, TO, 'never acknowledged')).body.data.message_id;
    await eventually(() => sim.commands.some((c) => c.messageId === unacked));
    sim.setBehaviour({ respondUpTo: 'sent' });
    sim.drop(); // the socket dies with the command written but not accepted; the simulator reconnects
    await waitForMessage(account, unacked, (m) => m.status === 'sent');
    expect(sim.commands.filter((c) => c.messageId === unacked)).toHaveLength(2);

    // Reported sent: a reconnect does not bring it back.
    sim.drop();
    await eventually(() => sim.connected);
    await new Promise((r) => setTimeout(r, 500));
    expect(sim.commands.filter((c) => c.messageId === unacked)).toHaveLength(2);
    const events = await withDatabase((db) =>
      db.query<{ type: string }>(`select type from events where stream_id = $1 order by global_position`, [`message-${unacked}`]),
    );
    expect(events.rows.map((r) => r.type).filter((t) => t === 'MessageSent' || t === 'MessageDispatched')).toEqual(['MessageDispatched', 'MessageSent']);
  });

  it('paces a phone at its sends per minute: the rest wait queued, then go out in order', async () => {
    const account = await newAccountWithNumber();
    const device = await newDevice(account, { sendsPerMinute: 2 });
    const sim = simulator(device);
    await connect(sim);
    await new Promise((r) => setTimeout(r, 300));

    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) ids.push((await send(account, TO, `paced ${i}`)).body.data.message_id);
    await eventually(() => sim.commands.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    // Two per window (DEVICE_PACING_WINDOW_MS in global-setup): the other two wait, not dispatched.
    expect(sim.commands.map((c) => c.messageId)).toEqual(ids.slice(0, 2));
    const waiting = await http('GET', `/v1/sms/${ids[3]}`, { key: account.apiKey });
    expect(waiting.body.data.status).toBe('queued');

    for (const id of ids) await waitForMessage(account, id, (m) => m.status === 'delivered', 20_000);
    expect(sim.commands.map((c) => c.messageId)).toEqual(ids);
  });

  it("refuses a phone's report on another account's message, which stays as it was", async () => {
    const victim = await newAccountWithNumber();
    const victimMessage = (await send(victim, TO, 'not yours')).body.data.message_id;
    await waitForMessage(victim, victimMessage, (m) => m.status === 'delivered');
    const intruderAccount = await newAccountWithNumber();
    const intruder = simulator(await newDevice(intruderAccount));
    await connect(intruder);
    const refusals: unknown[] = [];
    intruder.on('error-frame', (frame) => refusals.push(frame));

    for (const step of ['sent', 'failed'] as const) {
      intruder.sendRaw(
        JSON.stringify({ v: 1, type: step, commandId: victimMessage, messageId: victimMessage, at: new Date().toISOString(), ...(step === 'failed' ? { reason: 'generic' } : {}) }),
      );
    }
    await eventually(() => refusals.length === 2);
    expect(refusals).toEqual([expect.objectContaining({ code: 'DEVICE_FRAME_REFUSED' }), expect.objectContaining({ code: 'DEVICE_FRAME_REFUSED' })]);
    const events = await withDatabase((db) => db.query<{ type: string }>(`select type from events where stream_id = $1 order by revision`, [`message-${victimMessage}`]));
    expect(events.rows.map((r) => r.type).filter((t) => t === 'MessageFailed')).toEqual([]);
    expect((await http('GET', `/v1/sms/${victimMessage}`, { key: victim.apiKey })).body.data.status).toBe('delivered');
  });

  it('records a phone failure as failed with the reason', async () => {
    const account = await newAccountWithNumber();
    const device = await newDevice(account);
    const sim = simulator(device, { failureRate: 1 });
    await connect(sim);
    await new Promise((r) => setTimeout(r, 300));
    const id = (await send(account, TO, 'this one fails')).body.data.message_id;
    const failed = await waitForMessage(account, id, (m) => m.status === 'failed');
    expect(failed.failure_reason).toMatch(/device/i);
  });

  it('records an SMS the phone receives once, even when the phone repeats it', async () => {
    const account = await newAccountWithNumber();
    const device = await newDevice(account);
    const sim = simulator(device);
    await connect(sim);
    const inboundId = sim.receiveSms({ from: '+14155550199', body: 'STOP', to: account.number });
    await eventually(() => sim.unackedCount === 0);
    sim.receiveSms({ from: '+14155550199', body: 'STOP', to: account.number, inboundId });
    await eventually(() => sim.unackedCount === 0);

    const list = await eventuallyValue(async () => {
      const result = await http<ListBody>('GET', `/v1/sms?direction=inbound&number=${encodeURIComponent(account.number)}`, { key: account.apiKey });
      return result.body.data.length > 0 ? result.body : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    const again = await http<ListBody>('GET', `/v1/sms?direction=inbound&number=${encodeURIComponent(account.number)}`, { key: account.apiKey });
    expect(again.body.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ from: '+14155550199', to: account.number, body: 'STOP', direction: 'inbound', status: 'received' });
  });
});

async function eventually(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  await eventuallyValue(async () => (check() ? true : undefined), timeoutMs);
}

async function eventuallyValue<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
