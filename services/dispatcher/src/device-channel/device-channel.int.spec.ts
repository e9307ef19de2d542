import pino from 'pino';
import { Registry } from 'prom-client';
import type { ChannelKind } from '@reach/contracts';
import { DeviceSimulator, type DeviceSimulatorOptions } from '@reach/device-gateway';
import type { ChannelInboundSms, ChannelReports, ChannelSend } from '../channels/outbound-channel';
import { DeviceChannel, type DeviceChannelOptions } from './device-channel';
import type { DeviceBinding, DeviceRecord } from './device-channel.ports';

/**
 * The device channel with its real gateway on an ephemeral 127.0.0.1 port and simulated phones
 * on the real protocol. The repositories are replaced by in-memory lookups (they are tested with
 * Postgres elsewhere); reports go to a recording `ChannelReports`. Every channel, phone and timer
 * is closed after each test.
 */

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const NUMBER = '+15550001111';
const SECOND = '+15550001112';
const SLOW = '+15550003333';
const TO = '+15550002222';

const devices: Record<string, DeviceRecord> = {
  'token-a': { deviceId: 'dev-a', accountId: 'acc-1', sendsPerMinute: 30, numbers: [{ e164: NUMBER, simSlot: 1 }] },
  'token-slow': { deviceId: 'dev-slow', accountId: 'acc-1', sendsPerMinute: 2, numbers: [{ e164: SLOW, simSlot: null }] },
};

function bindingsOf(...records: DeviceRecord[]): DeviceBinding[] {
  return records.flatMap((d) => d.numbers.map((n) => ({ e164: n.e164, accountId: d.accountId, deviceId: d.deviceId, simSlot: n.simSlot, sendsPerMinute: d.sendsPerMinute })));
}

/** Records what reached the dispatcher, in order; `before` may delay or refuse a call. */
class RecordingReports implements ChannelReports {
  /** Every call, recorded or not. */
  readonly attempts: string[] = [];
  /** Calls that resolved: what the dispatcher appended. */
  readonly recorded: string[] = [];
  readonly inbound: ChannelInboundSms[] = [];
  before: (call: string) => Promise<void> = () => Promise.resolve();

  sent(messageId: string, providerMessageId: string | null): Promise<void> {
    return this.record(`sent ${messageId} ${providerMessageId}`);
  }
  delivered(messageId: string, dlrDate: string | null): Promise<void> {
    return this.record(`delivered ${messageId} ${dlrDate}`);
  }
  undelivered(messageId: string, errorCode: number, reason: string): Promise<void> {
    return this.record(`undelivered ${messageId} ${errorCode} ${reason}`);
  }
  failed(messageId: string, errorCode: number, reason: string): Promise<void> {
    return this.record(`failed ${messageId} ${errorCode} ${reason}`);
  }
  async received(sms: ChannelInboundSms, channel: ChannelKind): Promise<void> {
    await this.record(`received ${sms.key} ${sms.to} ${channel}`);
    this.inbound.push(sms);
  }

  of(messageId: string): string[] {
    return this.recorded.filter((call) => call.split(' ')[1] === messageId).map((call) => call.split(' ')[0] as string);
  }

  private async record(call: string): Promise<void> {
    this.attempts.push(call);
    await this.before(call);
    this.recorded.push(call);
  }
}

interface Harness {
  readonly channel: DeviceChannel;
  readonly reports: RecordingReports;
  readonly wakes: string[];
  readonly presence: string[];
  readonly bindings: DeviceBinding[];
  readonly registry: Registry;
}

/** Device ids `reachctl device revoke` revoked: their tokens stop working. */
const revoked = new Set<string>();
const channels: DeviceChannel[] = [];
const simulators: DeviceSimulator[] = [];

afterEach(async () => {
  revoked.clear();
  await Promise.all(simulators.splice(0).map((sim) => sim.close()));
  await Promise.all(channels.splice(0).map((channel) => channel.stop()));
});

async function startChannel(options: Partial<DeviceChannelOptions> & { bindings?: DeviceBinding[]; reports?: RecordingReports } = {}): Promise<Harness> {
  const bindings = options.bindings ?? bindingsOf(...Object.values(devices));
  const reports = options.reports ?? new RecordingReports();
  const wakes: string[] = [];
  const presence: string[] = [];
  const registry = new Registry();
  const channel = new DeviceChannel({
    host: '127.0.0.1',
    port: 0,
    findDeviceByToken: async (token) => {
      const device = devices[token];
      return device && !revoked.has(device.deviceId) ? device : null;
    },
    findRevokedDevices: async (deviceIds) => deviceIds.filter((id) => revoked.has(id)),
    loadBindings: async () => [...bindings],
    setPresence: async (e164, online) => {
      presence.push(`${e164} ${online ? 'online' : 'offline'}`);
    },
    logger,
    registry,
    heartbeatIntervalMs: 100,
    missRefreshIntervalMs: 20,
    ...options,
  });
  channels.push(channel);
  await channel.start({ reports, wake: (sender) => wakes.push(sender ?? '*') });
  return { channel, reports, wakes, presence, bindings, registry };
}

function simulator(channel: DeviceChannel, options: Partial<DeviceSimulatorOptions> = {}): DeviceSimulator {
  const sim = new DeviceSimulator({ url: channel.url, token: 'token-a', sendLatencyMs: 10, deliveryLatencyMs: 10, reconnectDelayMs: 50, logger, ...options });
  simulators.push(sim);
  return sim;
}

let seq = 0;
function message(overrides: Partial<ChannelSend> = {}): ChannelSend {
  seq += 1;
  return {
    messageId: `msg-${seq}`,
    accountId: 'acc-1',
    from: NUMBER,
    to: TO,
    body: `hello ${seq}`,
    segmentCount: 1,
    expiresAt: new Date(Date.now() + 60_000),
    ...overrides,
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sample's value; `name` may be a histogram's `_count` / `_sum` series. */
async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const samples = (await registry.getMetricsAsJSON()).flatMap((m) => m.values.map((v) => ({ name: (v as { metricName?: string }).metricName ?? m.name, ...v })));
  return samples.find((v) => v.name === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('DeviceChannel over the real device protocol', () => {
  it('sends through the bound device and records sent, then delivered, in order', async () => {
    const { channel, reports, registry } = await startChannel();
    expect(channel.isReady(NUMBER)).toBe(false);
    const sim = simulator(channel);
    await sim.connect();
    await waitFor(() => channel.isReady(NUMBER), 'ready');

    const m = message();
    channel.send(m);
    channel.send(m); // a repeated hand-over is the same command
    await waitFor(() => reports.of(m.messageId).includes('delivered') && sim.unackedCount === 0, 'delivered and acked');
    expect(reports.of(m.messageId)).toEqual(['sent', 'delivered']);
    expect(reports.recorded[0]).toBe(`sent ${m.messageId} null`);
    expect(reports.recorded[1]).toMatch(new RegExp(`^delivered ${m.messageId} \\d{10}$`));
    expect(sim.commands).toEqual([
      { v: 1, type: 'send', commandId: m.messageId, messageId: m.messageId, destination: TO, body: m.body, segments: 1, sim: 1, expiresAt: m.expiresAt.toISOString() },
    ]);
    expect(await metric(registry, 'reach_devices_online')).toBe(1);
    expect(await metric(registry, 'reach_device_commands_total', { outcome: 'written' })).toBe(1);
    for (const step of ['accepted', 'sent', 'delivered']) expect(await metric(registry, 'reach_device_reports_total', { step })).toBe(1);
    expect(await metric(registry, 'reach_device_command_write_seconds_count')).toBe(1);
  });

  it('acks a report only once it is recorded; one that could not be is repeated by the device and recorded once', async () => {
    const { channel, reports } = await startChannel();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let failSent = true;
    reports.before = async (call) => {
      if (call.startsWith('sent') && failSent) {
        failSent = false;
        throw new Error('event store unavailable');
      }
      if (call.startsWith('delivered')) await held;
    };
    const sim = simulator(channel);
    const errors: string[] = [];
    sim.on('error-frame', (frame) => errors.push(frame.code));
    await sim.connect();
    const m = message();
    channel.send(m);
    await waitFor(() => errors.length === 1, 'the sent report not recorded');
    expect(errors).toEqual(['DEVICE_FRAME_NOT_RECORDED']);
    await pause(50);
    // `sent` failed, so `delivered` was not tried: both wait on the phone.
    expect(reports.recorded).toEqual([]);
    expect(sim.unackedCount).toBe(2);

    sim.drop(); // the phone repeats unacked reports after the next welcome
    await waitFor(() => reports.attempts.filter((c) => c.startsWith('delivered')).length === 1, 'delivered handed over');
    expect(reports.of(m.messageId)).toEqual(['sent']);
    await pause(50);
    expect(sim.unackedCount).toBe(1); // delivered is not acked while it is being recorded
    release();
    await waitFor(() => sim.unackedCount === 0, 'all acked');
    expect(reports.of(m.messageId)).toEqual(['sent', 'delivered']);
    expect(reports.attempts.filter((c) => c.startsWith('sent'))).toHaveLength(2);
    expect(sim.commands).toHaveLength(1);
  });

  it('is not ready for an offline device, and wakes the sender when it connects', async () => {
    const { channel, wakes, presence } = await startChannel();
    expect(channel.isReady(NUMBER)).toBe(false);
    expect(presence).toEqual(expect.arrayContaining([`${NUMBER} offline`, `${SLOW} offline`]));
    const sim = simulator(channel);
    await sim.connect();
    await waitFor(() => wakes.includes(NUMBER), 'wake');
    expect(wakes).toEqual([NUMBER]);
    expect(channel.isReady(NUMBER)).toBe(true);
    await waitFor(() => presence.includes(`${NUMBER} online`), 'presence online');
  });

  it('publishes presence for every number bound to the device as it comes and goes', async () => {
    const withTwo: DeviceRecord = { ...devices['token-a']!, numbers: [{ e164: NUMBER, simSlot: 0 }, { e164: SECOND, simSlot: 1 }] };
    const { channel, presence } = await startChannel({ bindings: bindingsOf(withTwo) });
    expect(presence.sort()).toEqual([`${NUMBER} offline`, `${SECOND} offline`]);
    presence.length = 0;
    const sim = simulator(channel, { reconnect: false });
    await sim.connect();
    await waitFor(() => presence.length === 2, 'online');
    expect(presence.sort()).toEqual([`${NUMBER} online`, `${SECOND} online`]);
    presence.length = 0;
    await sim.close();
    await waitFor(() => presence.length === 2, 'offline');
    expect(presence.sort()).toEqual([`${NUMBER} offline`, `${SECOND} offline`]);
  });

  it('finds a number bound after the last read of the table on a miss', async () => {
    const { channel, wakes, bindings, presence } = await startChannel({ bindings: [] });
    const sim = simulator(channel);
    await sim.connect();
    expect(channel.isReady(NUMBER)).toBe(false);
    bindings.push(...bindingsOf(devices['token-a']!));
    expect(channel.isReady(NUMBER)).toBe(false);
    await waitFor(() => wakes.includes(NUMBER), 'woken once bound');
    expect(channel.isReady(NUMBER)).toBe(true);
    await waitFor(() => presence.includes(`${NUMBER} online`), 'presence');
  });

  it('re-sends a command the device dropped before accepting, and never one it reported sent', async () => {
    const { channel, reports } = await startChannel();
    const sim = simulator(channel, { respondUpTo: 'none' });
    let welcomes = 0;
    sim.on('welcome', () => (welcomes += 1));
    await sim.connect();
    const m = message();
    channel.send(m);
    await waitFor(() => sim.commands.length === 1, 'written');

    sim.setBehaviour({ respondUpTo: 'sent' });
    sim.drop();
    await waitFor(() => reports.of(m.messageId).includes('sent'), 'sent after the re-send');
    expect(sim.commands.map((c) => c.commandId)).toEqual([m.messageId, m.messageId]);

    sim.drop();
    await waitFor(() => welcomes === 3, 'reconnected again');
    channel.send(m); // the dispatcher resuming it: the device already reported on it
    await pause(150);
    expect(sim.commands).toHaveLength(2);
    expect(reports.of(m.messageId)).toEqual(['sent']);
  });

  it('is not ready while pacing holds the device back, and wakes the sender when a slot frees', async () => {
    const windowMs = 600;
    const { channel, wakes } = await startChannel({ pacingWindowMs: windowMs });
    const sim = simulator(channel, { token: 'token-slow' });
    await sim.connect();
    await waitFor(() => channel.isReady(SLOW), 'ready');
    wakes.length = 0;
    const started = Date.now();
    channel.send(message({ from: SLOW }));
    expect(channel.isReady(SLOW)).toBe(true);
    channel.send(message({ from: SLOW }));
    expect(channel.isReady(SLOW)).toBe(false);
    expect(channel.isReady(SLOW)).toBe(false); // one wake-up per sender
    await waitFor(() => wakes.length > 0, 'woken when pacing frees', 3 * windowMs);
    expect(Date.now() - started).toBeGreaterThanOrEqual(windowMs - 50);
    expect(wakes).toEqual([SLOW]);
    expect(channel.isReady(SLOW)).toBe(true);
    expect(sim.commands).toHaveLength(2);
  });

  it('applies a changed pace to a connected device at the next refresh, counting the sends already in the window', async () => {
    const { channel, wakes, bindings } = await startChannel({ refreshIntervalMs: 50 }); // a 60 s window: nothing frees by itself
    const sim = simulator(channel, { token: 'token-slow' });
    await sim.connect();
    await waitFor(() => channel.isReady(SLOW), 'ready');
    channel.send(message({ from: SLOW }));
    channel.send(message({ from: SLOW }));
    expect(channel.isReady(SLOW)).toBe(false); // 2 a minute, both used
    wakes.length = 0;

    // \`reachctl device pace --device dev-slow --sends-per-minute 3\`
    const index = bindings.findIndex((b) => b.e164 === SLOW);
    bindings[index] = { ...bindings[index]!, sendsPerMinute: 3 };
    await waitFor(() => wakes.includes(SLOW), 'woken by the new pace');
    expect(channel.isReady(SLOW)).toBe(true);
    channel.send(message({ from: SLOW }));
    await waitFor(() => sim.commands.length === 3, 'third command written');
    expect(channel.isReady(SLOW)).toBe(false); // three in the window now

    // Lowered below what was sent: still held back, nothing else changes.
    bindings[index] = { ...bindings[index]!, sendsPerMinute: 1 };
    await pause(150);
    expect(channel.isReady(SLOW)).toBe(false);
    expect(sim.commands).toHaveLength(3);
  });

  it('fails a message the device has not taken when its validity ends, and withdraws the command', async () => {
    const { channel, reports, registry } = await startChannel({ acceptedGraceMs: 100 });
    // Offline: the command waits in the gateway until the deadline.
    const waiting = message({ expiresAt: new Date(Date.now() + 150) });
    channel.send(waiting);
    await waitFor(() => reports.of(waiting.messageId).includes('failed'), 'failed at the deadline');
    expect(reports.recorded).toEqual([`failed ${waiting.messageId} 30001 Validity period elapsed before the device took the message`]);

    // Written to a phone that never accepts it: withdrawn too, not re-sent after a reconnect.
    const sim = simulator(channel, { respondUpTo: 'none' });
    await sim.connect();
    const written = message({ expiresAt: new Date(Date.now() + 200) });
    channel.send(written);
    await waitFor(() => reports.of(written.messageId).includes('failed'), 'failed at the deadline');
    expect(sim.commands.map((c) => c.messageId)).toEqual([written.messageId]);
    sim.drop();
    await waitFor(() => sim.connected, 'reconnected');
    await pause(100);
    expect(sim.commands.map((c) => c.messageId)).toEqual([written.messageId]);

    // Accepted, but neither sent nor failed reported by the deadline plus the grace (a phone that lost it): failed too.
    sim.setBehaviour({ respondUpTo: 'accepted' });
    const accepted = message({ expiresAt: new Date(Date.now() + 200) });
    channel.send(accepted);
    await pause(250);
    expect(reports.of(accepted.messageId)).toEqual([]);
    await waitFor(() => reports.of(accepted.messageId).includes('failed'), 'failed at the deadline after accepted');
    expect(reports.recorded.at(-1)).toBe(`failed ${accepted.messageId} 30001 Validity period elapsed before the device reported the message sent`);
    // The device was told when that would be.
    expect(sim.commands.at(-1)?.expiresAt).toBe(accepted.expiresAt.toISOString());

    // Sent in time: the deadline ends with the report, nothing fails later.
    sim.setBehaviour({ respondUpTo: 'sent' });
    const sentInTime = message({ expiresAt: new Date(Date.now() + 200) });
    channel.send(sentInTime);
    await waitFor(() => reports.of(sentInTime.messageId).includes('sent'), 'sent');
    await pause(300);
    expect(reports.of(sentInTime.messageId)).toEqual(['sent']);

    // Handed over after its validity ended: failed without reaching the device.
    const late = message({ expiresAt: new Date(Date.now() - 1) });
    channel.send(late);
    await waitFor(() => reports.of(late.messageId).includes('failed'), 'failed at once');
    expect(sim.commands.map((c) => c.messageId)).not.toContain(late.messageId);
    expect(await metric(registry, 'reach_device_commands_total', { outcome: 'expired' })).toBe(4);
  });

  it('waits for a device that accepted a message and went offline: judged a grace period after it is back', async () => {
    const { channel, reports } = await startChannel({ acceptedGraceMs: 150 });
    const sim = simulator(channel, { respondUpTo: 'accepted', reconnect: false });
    await sim.connect();
    const lost = message({ expiresAt: new Date(Date.now() + 100) });
    const late = message({ expiresAt: new Date(Date.now() + 100) });
    channel.send(lost);
    channel.send(late);
    await waitFor(() => sim.commands.length === 2, 'both written');
    await pause(50); // both accepted and acked
    sim.drop();
    // Offline past the validity and the grace: it may have sent them over the radio meanwhile.
    await pause(400);
    expect(reports.recorded).toEqual([]);

    await sim.connect();
    // It did send one while we could not hear it, and says so now; the other it lost.
    sim.sendRaw(JSON.stringify({ v: 1, type: 'sent', commandId: late.messageId, messageId: late.messageId, at: new Date().toISOString() }));
    await waitFor(() => reports.of(late.messageId).includes('sent'), 'the late report recorded');
    await pause(50);
    expect(reports.of(lost.messageId)).toEqual([]);
    await waitFor(() => reports.of(lost.messageId).includes('failed'), 'failed a grace period after the reconnect');
    expect(reports.recorded).toEqual([`sent ${late.messageId} null`, `failed ${lost.messageId} 30001 Validity period elapsed before the device reported the message sent`]);
  });

  it('waits past the deadline for an offline device with a message handed over again after a restart, which it may hold', async () => {
    const { channel, reports } = await startChannel({ acceptedGraceMs: 150 });
    // The process before this one wrote it to the phone; this one cannot know whether it was accepted.
    const resumed = message({ expiresAt: new Date(Date.now() + 100), resumed: true });
    channel.send(resumed);
    await pause(300);
    expect(reports.recorded).toEqual([]);
    // The phone comes back, gets the command again and, past its validity, does not send it.
    const sim = simulator(channel);
    await sim.connect();
    await waitFor(() => reports.of(resumed.messageId).includes('failed'), 'failed by the phone');
    expect(reports.recorded).toEqual([`failed ${resumed.messageId} 30001 Device dev-a reported expired`]);
    expect(sim.commands.map((c) => c.messageId)).toEqual([resumed.messageId]);
  });

  it('fails the accepted messages of a revoked device that went away without a word on them', async () => {
    const { channel, reports } = await startChannel({ acceptedGraceMs: 100, refreshIntervalMs: 50 });
    const sim = simulator(channel, { respondUpTo: 'accepted', reconnect: false });
    await sim.connect();
    const m = message({ expiresAt: new Date(Date.now() + 100) });
    channel.send(m);
    await pause(50);
    sim.drop();
    await pause(300); // parked: offline past the deadline
    expect(reports.recorded).toEqual([]);
    revoked.add('dev-a');
    await waitFor(() => reports.of(m.messageId).includes('failed'), 'failed once the device is revoked');
    expect(reports.recorded).toEqual([`failed ${m.messageId} 30001 Validity period elapsed before the device reported the message sent`]);
  });

  it('records a send the phone gave up on because its validity ended as expired (30001)', async () => {
    const { channel, reports } = await startChannel();
    // The radio takes longer than the validity left: the phone must not send it late.
    const sim = simulator(channel, { sendLatencyMs: 150 });
    await sim.connect();
    const m = message({ expiresAt: new Date(Date.now() + 50) });
    channel.send(m);
    await waitFor(() => reports.of(m.messageId).includes('failed'), 'failed');
    expect(reports.recorded).toEqual([`failed ${m.messageId} 30001 Device dev-a reported expired`]);
  });

  it('records a failure the device reports with its reason', async () => {
    const { channel, reports } = await startChannel();
    const sim = simulator(channel, { failureRate: 1 });
    await sim.connect();
    const m = message();
    channel.send(m);
    await waitFor(() => reports.of(m.messageId).includes('failed'), 'failed');
    expect(reports.recorded).toEqual([`failed ${m.messageId} 30008 Device dev-a reported generic`]);

    const detailed = message();
    sim.sendRaw(JSON.stringify({ v: 1, type: 'failed', commandId: detailed.messageId, messageId: detailed.messageId, at: new Date().toISOString(), reason: 'no-service', detail: 'RESULT_ERROR_NO_SERVICE' }));
    await waitFor(() => reports.of(detailed.messageId).includes('failed'), 'failed with detail');
    expect(reports.recorded[1]).toBe(`failed ${detailed.messageId} 30008 Device dev-a reported no-service: RESULT_ERROR_NO_SERVICE`);
  });

  it('fails a message whose number no device of the account is bound to', async () => {
    const { channel, reports } = await startChannel();
    const unbound = message({ from: '+15559990000' });
    channel.send(unbound);
    const foreign = message({ accountId: 'acc-2' });
    channel.send(foreign);
    await waitFor(() => reports.recorded.length === 2, 'both failed');
    expect(reports.recorded.sort()).toEqual(
      [`failed ${unbound.messageId} 30003 No device of the account is bound to +15559990000`, `failed ${foreign.messageId} 30003 No device of the account is bound to ${NUMBER}`].sort(),
    );
  });

  it('acks a report the platform refuses, so the device stops repeating it', async () => {
    const { channel, reports } = await startChannel();
    reports.before = async () => {
      throw Object.assign(new Error('sent reported for message msg-x, which does not exist'), { code: 'CHANNEL_REPORT_REFUSED' });
    };
    const sim = simulator(channel);
    const errors: string[] = [];
    sim.on('error-frame', (frame) => errors.push(frame.code));
    await sim.connect();
    sim.sendRaw(JSON.stringify({ v: 1, type: 'sent', commandId: 'msg-x', messageId: 'msg-x', at: new Date().toISOString() }));
    await waitFor(() => errors.length === 1, 'refused');
    expect(errors).toEqual(['DEVICE_FRAME_REFUSED']);
    expect(reports.recorded).toEqual([]);
  });

  it('records a report for a message another process handed over (after a restart)', async () => {
    const first = await startChannel();
    const port = Number(new URL(first.channel.url).port);
    const sim = simulator(first.channel, { respondUpTo: 'delivered' });
    await sim.connect();
    first.reports.before = () => new Promise(() => undefined); // the dispatcher dies before appending
    const m = message();
    first.channel.send(m);
    await waitFor(() => first.reports.attempts.length === 1, 'sent handed over');
    await first.channel.stop();

    const second = await startChannel({ port });
    await waitFor(() => second.reports.of(m.messageId).includes('delivered') && sim.unackedCount === 0, 'recorded by the next owner');
    expect(second.reports.of(m.messageId)).toEqual(['sent', 'delivered']);
  });

  it('records an inbound SMS once, even when the phone repeats it', async () => {
    const { channel, reports, registry } = await startChannel();
    const sim = simulator(channel);
    await sim.connect();
    const inboundId = sim.receiveSms({ from: '+15550009999', body: 'STOP', to: NUMBER });
    await waitFor(() => sim.unackedCount === 0, 'acked');
    sim.receiveSms({ from: '+15550009999', body: 'STOP', to: NUMBER, inboundId });
    sim.drop();
    await waitFor(() => sim.connected && sim.unackedCount === 0, 'repeat acked');
    await pause(50);
    expect(reports.inbound).toEqual([{ key: `dev-a:${inboundId}`, from: '+15550009999', to: NUMBER, body: 'STOP' }]);
    expect(reports.recorded).toEqual([`received dev-a:${inboundId} ${NUMBER} device`]);
    expect(await metric(registry, 'reach_device_reports_total', { step: 'inbound' })).toBe(1);
  });

  it('resolves the number an inbound SMS reached from its SIM slot or the device’s only number', async () => {
    const withTwo: DeviceRecord = { ...devices['token-a']!, numbers: [{ e164: NUMBER, simSlot: 0 }, { e164: SECOND, simSlot: 1 }] };
    const { channel, reports } = await startChannel({ bindings: bindingsOf(withTwo) });
    const sim = simulator(channel);
    await sim.connect();
    sim.receiveSms({ from: '+15550009999', body: 'slot 1', sim: 1, inboundId: 'in-slot' });
    await waitFor(() => reports.inbound.length === 1, 'by slot');
    expect(reports.inbound[0]).toMatchObject({ to: SECOND, body: 'slot 1' });
  });

  it('keeps an inbound SMS to a number not bound to the device unacked, and records it once bound', async () => {
    const { channel, reports, bindings } = await startChannel({ bindings: [] });
    const sim = simulator(channel);
    const errors: string[] = [];
    sim.on('error-frame', (frame) => errors.push(`${frame.code}: ${frame.message}`));
    await sim.connect();
    const inboundId = sim.receiveSms({ from: '+15550009999', body: 'hi', to: NUMBER });
    await waitFor(() => errors.length === 1, 'not recorded');
    expect(errors[0]).toBe(`DEVICE_FRAME_NOT_RECORDED: inbound ${inboundId}: ${NUMBER} is not a number bound to this device; kept until it is`);
    expect(sim.unackedCount).toBe(1);

    bindings.push(...bindingsOf(devices['token-a']!));
    sim.drop();
    await waitFor(() => sim.unackedCount === 0 && sim.connected, 'recorded after the binding');
    expect(reports.inbound).toEqual([{ key: `dev-a:${inboundId}`, from: '+15550009999', to: NUMBER, body: 'hi' }]);
  });

  it('publishes a number online again when it moves to a device that is already connected', async () => {
    const { channel, presence, bindings } = await startChannel({ refreshIntervalMs: 50 });
    const a = simulator(channel);
    const slow = simulator(channel, { token: 'token-slow' });
    await a.connect();
    await slow.connect();
    await waitFor(() => presence.includes(`${NUMBER} online`) && presence.includes(`${SLOW} online`), 'both online');
    await pause(150);
    const before = presence.length;

    // \`reachctl device bind --device dev-slow --number NUMBER\` moves it (and writes it offline in the KV).
    const index = bindings.findIndex((b) => b.e164 === NUMBER);
    bindings[index] = { ...bindings[index]!, deviceId: 'dev-slow', simSlot: null, sendsPerMinute: 2 };
    await waitFor(() => presence.slice(before).filter((p) => p === `${NUMBER} online`).length >= 2, 'published online at two reads');
    expect(presence.slice(before).every((p) => p === `${NUMBER} online`)).toBe(true);
    expect(channel.isReady(NUMBER)).toBe(true);
    await pause(150);
    // Then only changes again.
    expect(presence.slice(before)).toHaveLength(2);
  });

  it('disconnects a connected device at the next refresh once it is revoked, and refuses its token after', async () => {
    const { channel, presence } = await startChannel({ refreshIntervalMs: 50 });
    const sim = simulator(channel);
    const closes: number[] = [];
    sim.on('disconnected', ({ code }) => closes.push(code));
    await sim.connect();
    await waitFor(() => presence.includes(`${NUMBER} online`), 'online');
    await pause(150);
    expect(sim.connected).toBe(true); // refreshes leave a live device alone

    revoked.add('dev-a');
    await waitFor(() => closes.length > 0, 'disconnected');
    expect(closes[0]).toBe(4001);
    expect(channel.isReady(NUMBER)).toBe(false);
    await waitFor(() => presence.at(-1) === `${NUMBER} offline`, 'offline');
    // The simulator tries again; the token no longer works.
    await pause(300);
    expect(sim.connected).toBe(false);
    expect(channel.isReady(NUMBER)).toBe(false);
  });

  it('stops: the gateway closes and the device reconnects to whoever owns the channel next', async () => {
    const { channel, presence } = await startChannel();
    const sim = simulator(channel);
    let disconnected = 0;
    sim.on('disconnected', () => (disconnected += 1));
    await sim.connect();
    await waitFor(() => presence.includes(`${NUMBER} online`), 'online');
    presence.length = 0;
    await channel.stop();
    await waitFor(() => disconnected === 1, 'disconnected');
    expect(channel.isReady(NUMBER)).toBe(false);
    // Presence is left to the next owner (a late "offline" from here could overwrite its "online").
    expect(presence).toEqual([]);
  });
});
