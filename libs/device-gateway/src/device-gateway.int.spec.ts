import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { DeviceFrameNotRecordedError, DeviceFrameRefusedError } from './device-gateway.errors';
import { DeviceGatewayServer, type DeviceGatewayEvents, type DeviceGatewayOptions, type DeviceIdentity, type DeviceInboundSms, type DeviceReport } from './device-gateway-server';
import { DeviceSimulator, DeviceSimulatorRejectedError, type DeviceSimulatorOptions } from './device-simulator';
import { deviceTokenHashesEqual, hashDeviceToken } from './device-token';

/** Real WebSockets on 127.0.0.1, ephemeral ports; every gateway and simulator is closed after each test. */

const devices: Record<string, DeviceIdentity> = {
  'token-a': { deviceId: 'dev-a', accountId: 'acc-1', numbers: ['+15550001111'] },
  'token-slow': { deviceId: 'dev-slow', accountId: 'acc-1', numbers: ['+15550003333'], sendsPerMinute: 3 },
};
const stored = Object.entries(devices).map(([token, identity]) => ({ hash: hashDeviceToken(token), identity }));

/** The lookup as the real one must be written: by hash, compared in constant time. */
async function lookup(token: string): Promise<DeviceIdentity | null> {
  const hash = hashDeviceToken(token);
  return stored.find((row) => deviceTokenHashesEqual(row.hash, hash))?.identity ?? null;
}

let gateway: DeviceGatewayServer | undefined;
const simulators: DeviceSimulator[] = [];

afterEach(async () => {
  await Promise.all(simulators.splice(0).map((sim) => sim.close()));
  await gateway?.close();
  gateway = undefined;
});

async function startGateway(options: Partial<DeviceGatewayOptions> = {}): Promise<DeviceGatewayServer> {
  gateway = await DeviceGatewayServer.start({ lookup, port: 0, host: '127.0.0.1', heartbeatIntervalMs: 100, ...options });
  return gateway;
}

function simulator(server: DeviceGatewayServer, options: Partial<DeviceSimulatorOptions> = {}): DeviceSimulator {
  const sim = new DeviceSimulator({ url: server.url, token: 'token-a', sendLatencyMs: 10, deliveryLatencyMs: 10, reconnectDelayMs: 50, ...options });
  simulators.push(sim);
  return sim;
}

function record<K extends keyof DeviceGatewayEvents>(server: DeviceGatewayServer, event: K): DeviceGatewayEvents[K][0][] {
  const seen: DeviceGatewayEvents[K][0][] = [];
  // The cast narrows EventEmitter's generic listener signature to this event's payload.
  (server.on as (event: K, listener: (payload: DeviceGatewayEvents[K][0]) => void) => void)(event, (payload) => seen.push(payload));
  return seen;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function command(n: number) {
  return { commandId: `cmd-${n}`, messageId: `msg-${n}`, destination: '+15550002222', body: `hello ${n}`, segments: 1 };
}

const steps = (reports: DeviceReport[], messageId: string) => reports.filter((r) => r.messageId === messageId).map((r) => r.step);

describe('DeviceGatewayServer over a real WebSocket', () => {
  it('refuses a bad token at the upgrade with 401', async () => {
    const server = await startGateway();
    const online = record(server, 'online');
    const sim = simulator(server, { token: 'wrong', reconnect: false });
    await expect(sim.connect()).rejects.toEqual(new DeviceSimulatorRejectedError(401));
    expect(online).toHaveLength(0);
  });

  it('sends a command and emits accepted, sent, delivered in order', async () => {
    const server = await startGateway();
    const reports = record(server, 'report');
    const dispatched = record(server, 'dispatched');
    const online = record(server, 'online');
    const sim = simulator(server);
    const welcome = await sim.connect();
    expect(welcome).toMatchObject({ deviceId: 'dev-a', sendsPerMinute: 30 });
    await waitFor(() => server.isOnline('dev-a'), 'online');
    expect(online).toEqual([{ deviceId: 'dev-a', accountId: 'acc-1', sims: [{ slot: 0 }], sendsPerMinute: 30 }]);

    server.sendCommand('dev-a', command(1));
    await waitFor(() => reports.length === 3, 'three reports');
    expect(dispatched).toEqual([{ deviceId: 'dev-a', commandId: 'cmd-1', messageId: 'msg-1', attempt: 1, queuedMs: expect.any(Number) }]);
    expect(steps(reports, 'msg-1')).toEqual(['accepted', 'sent', 'delivered']);
    expect(reports[0]).toMatchObject({ deviceId: 'dev-a', accountId: 'acc-1', commandId: 'cmd-1' });
    expect(sim.commands[0]).toMatchObject({ type: 'send', destination: '+15550002222', body: 'hello 1', segments: 1 });
    await waitFor(() => sim.unackedCount === 0, 'every report acked');
    expect(server.pendingCount('dev-a')).toBe(0);
  });

  it('reports a failed send with its reason', async () => {
    const server = await startGateway();
    const reports = record(server, 'report');
    const sim = simulator(server, { failureRate: 1 });
    await sim.connect();
    server.sendCommand('dev-a', command(1));
    await waitFor(() => reports.length === 2, 'two reports');
    expect(reports[1]).toMatchObject({ step: 'failed', reason: 'generic', messageId: 'msg-1' });
  });

  it('queues commands for an offline device and delivers them in order on connect', async () => {
    const server = await startGateway();
    const reports = record(server, 'report');
    for (let n = 1; n <= 5; n += 1) server.sendCommand('dev-a', command(n));
    server.sendCommand('dev-a', command(3)); // idempotent by commandId
    expect(server.pendingCount('dev-a')).toBe(5);
    expect(server.isOnline('dev-a')).toBe(false);

    const sim = simulator(server);
    await sim.connect();
    await waitFor(() => reports.filter((r) => r.step === 'delivered').length === 5, 'five delivered');
    expect(sim.commands.map((c) => c.commandId)).toEqual(['cmd-1', 'cmd-2', 'cmd-3', 'cmd-4', 'cmd-5']);
  });

  it('re-sends unacknowledged commands after a reconnect, never one reported sent', async () => {
    const server = await startGateway();
    const reports = record(server, 'report');
    const offline = record(server, 'offline');
    const sim = simulator(server, { respondUpTo: 'sent' });
    let welcomes = 0;
    sim.on('welcome', () => (welcomes += 1));
    await sim.connect();

    server.sendCommand('dev-a', command(1));
    await waitFor(() => steps(reports, 'msg-1').includes('sent'), 'msg-1 sent');
    sim.setBehaviour({ respondUpTo: 'none' }); // the phone drops off before acknowledging the next one
    server.sendCommand('dev-a', command(2));
    await waitFor(() => sim.commands.length === 2, 'cmd-2 on the device');

    sim.drop();
    await waitFor(() => offline.length === 1, 'offline');
    await waitFor(() => welcomes === 2, 'reconnected');
    await waitFor(() => sim.commands.length === 3, 'cmd-2 re-sent');
    expect(sim.commands.map((c) => c.commandId)).toEqual(['cmd-1', 'cmd-2', 'cmd-2']);

    sim.setBehaviour({ respondUpTo: 'delivered' });
    sim.drop();
    await waitFor(() => welcomes === 3, 'reconnected again');
    await waitFor(() => steps(reports, 'msg-2').includes('delivered'), 'msg-2 delivered');
    await pause(100);
    expect(sim.commands.filter((c) => c.commandId === 'cmd-1')).toHaveLength(1);
    expect(steps(reports, 'msg-2')).toEqual(['accepted', 'sent', 'delivered']);
    expect(server.pendingCount('dev-a')).toBe(0);
  });

  it('marks a silent device offline after the heartbeat timeout; a heartbeating one stays online', async () => {
    const server = await startGateway({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 250 });
    const offline = record(server, 'offline');
    const silent = simulator(server, { heartbeats: false, reconnect: false });
    await silent.connect();
    const alive = simulator(server, { token: 'token-slow', reconnect: false });
    await alive.connect();
    expect(server.isOnline('dev-a')).toBe(true);

    await waitFor(() => offline.length > 0, 'offline event');
    expect(offline).toEqual([{ deviceId: 'dev-a', reason: 'heartbeat-timeout' }]);
    expect(server.isOnline('dev-a')).toBe(false);
    await waitFor(() => !silent.connected, 'socket closed');
    await pause(300);
    expect(server.isOnline('dev-slow')).toBe(true);
    expect(offline).toHaveLength(1);
  });

  it('paces a device to its limit per window', async () => {
    const windowMs = 1500;
    const server = await startGateway({ pacingWindowMs: windowMs });
    const dispatched = record(server, 'dispatched');
    const at: number[] = [];
    server.on('dispatched', () => at.push(Date.now()));
    const sim = simulator(server, { token: 'token-slow' });
    const welcome = await sim.connect();
    expect(welcome.sendsPerMinute).toBe(3);
    for (let n = 1; n <= 7; n += 1) server.sendCommand('dev-slow', command(n));

    await waitFor(() => dispatched.length === 3, 'first three');
    await pause(windowMs / 2);
    expect(dispatched.length).toBe(3);
    expect(sim.commands.length).toBe(3);
    await waitFor(() => dispatched.length === 7, 'all seven', 4 * windowMs + 2000);
    // No more than 3 in any window (a small margin for timer granularity).
    for (let i = 0; i + 3 < at.length; i += 1) expect((at[i + 3] as number) - (at[i] as number)).toBeGreaterThanOrEqual(windowMs - 50);
    expect(dispatched.map((d) => d.commandId)).toEqual(['cmd-1', 'cmd-2', 'cmd-3', 'cmd-4', 'cmd-5', 'cmd-6', 'cmd-7']);
  });

  it('ignores duplicate reports and duplicate inbound SMS, acking them again', async () => {
    const server = await startGateway();
    const reports = record(server, 'report');
    const inbound = record(server, 'inbound');
    const sim = simulator(server);
    const errors: string[] = [];
    sim.on('error-frame', (frame) => errors.push(frame.code));
    await sim.connect();
    server.sendCommand('dev-a', command(1));
    await waitFor(() => reports.length === 3, 'three reports');

    const at = new Date().toISOString();
    sim.sendRaw(JSON.stringify({ v: 1, type: 'sent', commandId: 'cmd-1', messageId: 'msg-1', at }));
    sim.sendRaw(JSON.stringify({ v: 1, type: 'delivered', commandId: 'cmd-1', messageId: 'msg-1', at }));
    sim.receiveSms({ from: '+15550009999', body: 'once', inboundId: 'in-1' });
    sim.receiveSms({ from: '+15550009999', body: 'once', inboundId: 'in-1' });
    sim.sendRaw('{not json');
    await waitFor(() => errors.length === 1 && sim.unackedCount === 0, 'acks and the error frame');
    await pause(50);
    expect(steps(reports, 'msg-1')).toEqual(['accepted', 'sent', 'delivered']);
    expect(inbound).toHaveLength(1);
    expect(errors).toEqual(['DEVICE_FRAME_INVALID_JSON']);
    expect(server.isOnline('dev-a')).toBe(true);
  });

  it('emits inbound SMS, including those received while offline', async () => {
    const server = await startGateway();
    const inbound = record(server, 'inbound');
    const sim = simulator(server, { sims: [{ slot: 1, number: '+15550001111' }] });
    const early = sim.receiveSms({ from: '+15550007777', body: 'while offline', to: '+15550001111', sim: 1 });
    await sim.connect();
    const late = sim.receiveSms({ from: '+15550008888', body: 'Grüße 👋' });
    await waitFor(() => inbound.length === 2, 'two inbound');
    expect(inbound[0]).toMatchObject({ deviceId: 'dev-a', accountId: 'acc-1', inboundId: early, from: '+15550007777', to: '+15550001111', sim: 1, body: 'while offline' });
    expect(inbound[1]).toMatchObject({ inboundId: late, from: '+15550008888', body: 'Grüße 👋' });
    expect(typeof inbound[1]?.receivedAt).toBe('string');
  });

  it('attaches to an existing http.Server and closes sockets that never said hello', async () => {
    const http = createServer((_request, response) => response.end('api'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const server = await startGateway({ server: http });
      const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/v1/device`;
      const sim = simulator(server, { url });
      await sim.connect();
      expect(server.isOnline('dev-a')).toBe(true);

      const mute = new WebSocket(url, { headers: { authorization: 'Bearer token-slow' } });
      const closed = new Promise<void>((resolve) => mute.once('close', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        mute.once('open', () => resolve());
        mute.once('error', reject);
      });
      await server.close();
      await closed;
      expect(server.isOnline('dev-a')).toBe(false);
      expect(() => server.sendCommand('dev-a', command(1))).toThrow('Device gateway closed');
    } finally {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
  it('writes the commands that waited for the device before it reports the device online', async () => {
    const server = await startGateway();
    server.sendCommand('dev-a', command(1));
    const atOnline: { pending: number; canSendNow: boolean }[] = [];
    server.on('online', () => atOnline.push({ pending: server.pendingCount('dev-a'), canSendNow: server.canSendNow('dev-a') }));
    const sim = simulator(server, { respondUpTo: 'none' });
    await sim.connect();
    await waitFor(() => sim.commands.length === 1, 'cmd-1 written');
    expect(atOnline).toEqual([{ pending: 1, canSendNow: true }]);
  });

  it('cancels a command the device has not reported on, and only such a command', async () => {
    const server = await startGateway();
    server.sendCommand('dev-a', command(1));
    server.sendCommand('dev-a', command(2));
    expect(server.commandStatus('dev-a', 'cmd-1')).toBe('pending');
    expect(server.cancelCommand('dev-a', 'cmd-1')).toBe(true);
    expect(server.cancelCommand('dev-a', 'cmd-1')).toBe(false);
    expect(server.commandStatus('dev-a', 'cmd-1')).toBe('settled');
    expect(server.commandStatus('dev-a', 'cmd-9')).toBe('unknown');
    expect(server.cancelCommand('dev-unknown', 'cmd-1')).toBe(false);
    expect(server.sendCommand('dev-a', command(1))).toBe(false); // cancelled: never sent again
    expect(server.sendCommand('dev-a', command(2))).toBe(true); // still pending
    expect(server.pendingCount('dev-a')).toBe(1);

    const reports = record(server, 'report');
    const sim = simulator(server, { respondUpTo: 'accepted' });
    await sim.connect();
    await waitFor(() => steps(reports, 'msg-2').includes('accepted'), 'msg-2 accepted');
    expect(server.cancelCommand('dev-a', 'cmd-2')).toBe(false);
    expect(sim.commands.map((c) => c.commandId)).toEqual(['cmd-2']);

    // Written but not accepted: still cancellable (the device may carry it out anyway).
    sim.setBehaviour({ respondUpTo: 'none' });
    server.sendCommand('dev-a', command(3));
    await waitFor(() => sim.commands.length === 2, 'cmd-3 written');
    expect(server.cancelCommand('dev-a', 'cmd-3')).toBe(true);
    expect(server.pendingCount('dev-a')).toBe(0);
    sim.drop();
    await waitFor(() => sim.connected, 'reconnected');
    await pause(100);
    expect(sim.commands.map((c) => c.commandId)).toEqual(['cmd-2', 'cmd-3']);
  });

  it('tells whether a command goes out at once, and when pacing next has room', async () => {
    const windowMs = 1000;
    const server = await startGateway({ pacingWindowMs: windowMs });
    expect(server.canSendNow('dev-slow')).toBe(false);
    expect(server.nextSendAt('dev-slow')).toBeNull();
    const sim = simulator(server, { token: 'token-slow' });
    await sim.connect();
    expect(server.canSendNow('dev-slow')).toBe(true);
    expect(server.onlineCount).toBe(1);

    const before = Date.now();
    for (let n = 1; n <= 3; n += 1) server.sendCommand('dev-slow', command(n));
    expect(server.canSendNow('dev-slow')).toBe(false);
    const next = server.nextSendAt('dev-slow') as number;
    expect(next).toBeGreaterThan(before + windowMs / 2);
    expect(next).toBeLessThanOrEqual(Date.now() + windowMs);
    server.sendCommand('dev-slow', command(4)); // waits for pacing
    await waitFor(() => sim.commands.length === 4, 'cmd-4 after the window', 3 * windowMs);
    expect(Date.now()).toBeGreaterThanOrEqual(next - 20);
  });
});

describe('DeviceGatewayServer acknowledges only what its handlers recorded', () => {
  it('acks a report only after onReport resolves', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    const server = await startGateway({
      onReport: async (report) => {
        handled.push(report.step);
        if (report.step === 'accepted') await gate;
      },
    });
    const sim = simulator(server, { respondUpTo: 'accepted' });
    await sim.connect();
    server.sendCommand('dev-a', command(1));
    await waitFor(() => handled.length === 1, 'accepted handed to onReport');
    await pause(100);
    expect(sim.unackedCount).toBe(1);
    release();
    await waitFor(() => sim.unackedCount === 0, 'ack after the handler resolved');
  });

  it('does not ack a report whose handler rejects; the device repeats it and it is recorded once', async () => {
    const recorded: string[] = [];
    let failures = 1;
    const server = await startGateway({
      onReport: async (report) => {
        if (report.step === 'sent' && failures-- > 0) throw new Error('store unavailable');
        recorded.push(`${report.messageId}:${report.step}`);
      },
    });
    const events = record(server, 'report');
    const sim = simulator(server, { respondUpTo: 'sent' });
    const errors: string[] = [];
    sim.on('error-frame', (frame) => errors.push(frame.code));
    await sim.connect();
    server.sendCommand('dev-a', command(1));
    await waitFor(() => errors.length === 1, 'the not-recorded error frame');
    expect(errors).toEqual(['DEVICE_FRAME_NOT_RECORDED']);
    expect(sim.unackedCount).toBe(1);
    expect(recorded).toEqual(['msg-1:accepted']);

    sim.drop(); // the device repeats unacked reports after the next welcome
    await waitFor(() => sim.unackedCount === 0, 'the repeated report acked');
    expect(recorded).toEqual(['msg-1:accepted', 'msg-1:sent']);
    expect(steps(events, 'msg-1')).toEqual(['accepted', 'sent']);
    // Settled at its first report: not re-sent by the reconnect.
    expect(sim.commands).toHaveLength(1);
  });

  it('hands the reports of one message over in arrival order, one at a time', async () => {
    const log: string[] = [];
    const server = await startGateway({
      onReport: async (report) => {
        log.push(`start ${report.step}`);
        await pause(report.step === 'accepted' ? 80 : 10);
        log.push(`end ${report.step}`);
      },
    });
    const sim = simulator(server, { sendLatencyMs: 0, deliveryLatencyMs: 0 });
    await sim.connect();
    server.sendCommand('dev-a', command(1));
    await waitFor(() => log.length === 6 && sim.unackedCount === 0, 'all three recorded and acked');
    expect(log).toEqual(['start accepted', 'end accepted', 'start sent', 'end sent', 'start delivered', 'end delivered']);
  });

  it('does not try the later reports of a message after one was not recorded', async () => {
    const recorded: string[] = [];
    let failAccepted = true;
    const server = await startGateway({
      onReport: async (report) => {
        await pause(20);
        if (report.step === 'accepted' && failAccepted) {
          failAccepted = false;
          throw new DeviceFrameNotRecordedError('try again later');
        }
        recorded.push(report.step);
      },
    });
    // `sent` arrives after `accepted` was found not recorded, `delivered` while `sent` is skipped.
    const sim = simulator(server, { sendLatencyMs: 60, deliveryLatencyMs: 0 });
    const errors: string[] = [];
    sim.on('error-frame', (frame) => errors.push(frame.message));
    await sim.connect();
    server.sendCommand('dev-a', command(1));
    await waitFor(() => errors.length === 1, 'error frame');
    await pause(200);
    expect(errors).toEqual(['accepted report for msg-1: try again later']);
    expect(recorded).toEqual([]);
    expect(sim.unackedCount).toBe(3);

    sim.drop();
    await waitFor(() => sim.unackedCount === 0, 'all repeated and acked');
    expect(recorded).toEqual(['accepted', 'sent', 'delivered']);
  });

  it('acks a refused report with an error frame and does not hand it over again', async () => {
    let calls = 0;
    const server = await startGateway({
      onReport: async () => {
        calls += 1;
        throw new DeviceFrameRefusedError('no such message');
      },
    });
    const events = record(server, 'report');
    const sim = simulator(server);
    const errors: string[] = [];
    sim.on('error-frame', (frame) => errors.push(`${frame.code} ${frame.message}`));
    await sim.connect();
    sim.sendRaw(JSON.stringify({ v: 1, type: 'delivered', commandId: 'cmd-x', messageId: 'msg-x', at: new Date().toISOString() }));
    await waitFor(() => errors.length === 1, 'refused');
    sim.sendRaw(JSON.stringify({ v: 1, type: 'delivered', commandId: 'cmd-x', messageId: 'msg-x', at: new Date().toISOString() }));
    await pause(100);
    expect(errors).toEqual(['DEVICE_FRAME_REFUSED delivered report for msg-x: no such message']);
    expect(calls).toBe(1);
    expect(events).toEqual([]);
  });

  it('records an inbound SMS once: a repeat that arrives while it is being recorded waits for it', async () => {
    const recorded: DeviceInboundSms[] = [];
    let attempts = 0;
    const server = await startGateway({
      onInbound: async (sms) => {
        attempts += 1;
        await pause(100);
        if (attempts === 1) throw new Error('store unavailable');
        recorded.push(sms);
      },
    });
    const sim = simulator(server);
    await sim.connect();
    sim.receiveSms({ from: '+15550009999', body: 'hi', inboundId: 'in-1' });
    sim.sendRaw(JSON.stringify({ v: 1, type: 'inbound', inboundId: 'in-1', from: '+15550009999', body: 'hi', receivedAt: new Date().toISOString() }));
    await waitFor(() => attempts === 1, 'first attempt');
    await pause(200);
    expect(sim.unackedCount).toBe(1);

    sim.drop();
    await waitFor(() => sim.unackedCount === 0, 'recorded and acked');
    sim.sendRaw(JSON.stringify({ v: 1, type: 'inbound', inboundId: 'in-1', from: '+15550009999', body: 'hi', receivedAt: new Date().toISOString() }));
    await pause(100);
    expect(attempts).toBe(2);
    expect(recorded).toHaveLength(1);
  });
});
