import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { DeviceGatewayServer, type DeviceGatewayEvents, type DeviceGatewayOptions, type DeviceIdentity, type DeviceReport } from './device-gateway-server';
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
    expect(dispatched).toEqual([{ deviceId: 'dev-a', commandId: 'cmd-1', messageId: 'msg-1', attempt: 1 }]);
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
});
