import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { natsNames } from '@reach/contracts';
import { DeviceGatewayServer, DeviceSimulator, type DeviceIdentity, type DeviceInboundSms, type DeviceReport } from '@reach/device-gateway';
import { ChannelOwnerCache, ChannelOwnerDirectory, connectNats, drainNats } from '@reach/messaging';
import { eventually, testNamespace, testUrls } from '@reach/testing';
import type { NatsConnection } from 'nats';
import { DeviceEdgeMetrics } from './device-edge.metrics';
import { DeviceUpgradeProxy } from './device-upgrade.proxy';

/**
 * The edge as the api-gateway runs it: a real device gateway on an ephemeral port, published as
 * the channel owner in NATS KV, an HTTP server with the proxy attached that finds the owner
 * through the KV-fed cache, and simulated devices speaking the real protocol through it.
 */
const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

const identities = new Map<string, DeviceIdentity>([
  ['dt_good_1', { deviceId: 'dev-1', accountId: 'acc-1', numbers: ['+14155550101'] }],
  ['dt_good_2', { deviceId: 'dev-2', accountId: 'acc-1', numbers: ['+14155550102'] }],
  ['dt_good_3', { deviceId: 'dev-3', accountId: 'acc-1', numbers: ['+14155550103'] }],
]);

interface Edge {
  readonly port: number;
  readonly proxy: DeviceUpgradeProxy;
  readonly registry: Registry;
  readonly url: string;
}

describe('device edge (upgrade proxy to the channel owner)', () => {
  let nc: NatsConnection;
  let directory: ChannelOwnerDirectory;
  let cache: ChannelOwnerCache;
  let gateway: DeviceGatewayServer;
  const servers: Server[] = [];
  const proxies: DeviceUpgradeProxy[] = [];
  const simulators: DeviceSimulator[] = [];
  const reports: DeviceReport[] = [];
  const inbound: DeviceInboundSms[] = [];

  beforeAll(async () => {
    nc = await connectNats({ url: testUrls.nats, name: 'api-gateway-device-edge-test', logger });
    directory = await ChannelOwnerDirectory.open(nc.jetstream(), natsNames(testNamespace()));
    cache = new ChannelOwnerCache(directory, logger);
    await cache.start();
    gateway = await DeviceGatewayServer.start({ lookup: async (token) => identities.get(token) ?? null, port: 0, host: '127.0.0.1', logger });
    gateway.on('report', (report) => reports.push(report));
    gateway.on('inbound', (sms) => inbound.push(sms));
    await publishGateway();
  });

  afterAll(async () => {
    await Promise.all(simulators.map((sim) => sim.close()));
    for (const proxy of proxies) proxy.closeAll();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await gateway.close();
    await cache.stop();
    await directory.destroy();
    await drainNats(nc);
  });

  async function publishGateway(): Promise<void> {
    const url = `http://127.0.0.1:${gateway.port}`;
    await directory.publish({ deviceGatewayUrl: url, ownerId: 'dispatcher-test' }, new Date());
    await eventually(async () => (cache.current() === url ? true : undefined));
  }

  /** An HTTP server (answering plain requests itself, like the api-gateway) with a proxy attached. */
  async function startEdge(owner: () => string | null, maxConnections = 100): Promise<Edge> {
    const registry = new Registry();
    let proxy: DeviceUpgradeProxy | null = null;
    const metrics = new DeviceEdgeMetrics(registry, () => proxy?.activeConnections ?? 0);
    proxy = new DeviceUpgradeProxy({ owner, maxConnections, logger, onUpgrade: (outcome) => metrics.upgrade(outcome) });
    const server = createServer((_request, response) => response.end('rest api'));
    proxy.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    proxies.push(proxy);
    const port = (server.address() as AddressInfo).port;
    return { port, proxy, registry, url: `ws://127.0.0.1:${port}/v1/device` };
  }

  function simulator(edge: Edge, token: string): DeviceSimulator {
    const sim = new DeviceSimulator({ url: edge.url, token, sendLatencyMs: 5, deliveryLatencyMs: 5, reconnect: false, logger });
    simulators.push(sim);
    return sim;
  }

  it('carries a device session: hello/welcome, a command to the device, its reports and an inbound SMS back', async () => {
    const edge = await startEdge(() => cache.current());
    const sim = simulator(edge, 'dt_good_1');
    const welcome = await sim.connect();
    expect(welcome).toMatchObject({ type: 'welcome', deviceId: 'dev-1' });
    expect(gateway.isOnline('dev-1')).toBe(true);
    expect(edge.proxy.activeConnections).toBe(1);

    expect(gateway.sendCommand('dev-1', { commandId: 'cmd-1', messageId: 'msg-1', destination: '+14155550199', body: 'hello through the edge', segments: 1 })).toBe(true);
    await eventually(async () => (sim.commands.length === 1 ? true : undefined));
    expect(sim.commands[0]).toMatchObject({ type: 'send', commandId: 'cmd-1', messageId: 'msg-1', body: 'hello through the edge' });
    await eventually(async () => (reports.some((r) => r.messageId === 'msg-1' && r.step === 'delivered') ? true : undefined));
    expect(reports.filter((r) => r.messageId === 'msg-1').map((r) => r.step)).toEqual(['accepted', 'sent', 'delivered']);
    await eventually(async () => (sim.unackedCount === 0 ? true : undefined));

    sim.receiveSms({ from: '+14155550177', body: 'reply', inboundId: 'in-1' });
    await eventually(async () => (inbound.some((sms) => sms.inboundId === 'in-1') ? true : undefined));
    await eventually(async () => (sim.unackedCount === 0 ? true : undefined));

    const text = await edge.registry.metrics();
    expect(text).toContain('reach_device_edge_connections 1');
    expect(text).toContain('reach_device_edge_upgrades_total{outcome="proxied"} 1');

    await sim.close();
    await eventually(async () => (edge.proxy.activeConnections === 0 && !gateway.isOnline('dev-1') ? true : undefined));
  });

  it("passes the gateway's 401 for a bad token through", async () => {
    const edge = await startEdge(() => cache.current());
    const sim = simulator(edge, 'dt_unknown');
    await expect(sim.connect()).rejects.toMatchObject({ status: 401 });
    await eventually(async () => (edge.proxy.activeConnections === 0 ? true : undefined));
  });

  it('forwards the request line and headers, adds X-Forwarded-For, then pipes bytes both ways', async () => {
    const received: Buffer[] = [];
    const owner = createTcpServer((socket) => {
      let head = Buffer.alloc(0);
      let upgraded = false;
      socket.on('data', (chunk: Buffer) => {
        if (upgraded) {
          socket.write(chunk.toString('utf8').toUpperCase());
          return;
        }
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        received.push(head.subarray(0, end + 4));
        upgraded = true;
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        const rest = head.subarray(end + 4);
        if (rest.length > 0) socket.write(rest.toString('utf8').toUpperCase());
      });
    });
    await new Promise<void>((resolve) => owner.listen(0, '127.0.0.1', resolve));
    try {
      const edge = await startEdge(() => `http://127.0.0.1:${(owner.address() as AddressInfo).port}`);
      const client = connect({ host: '127.0.0.1', port: edge.port });
      const answer = collect(client);
      // The bytes after the head arrive with it: the proxy must forward Node's `head` buffer too.
      client.write(
        'GET /v1/device?app=2.3 HTTP/1.1\r\nHost: reach.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Authorization: Bearer dt_secret\r\nX-Forwarded-For: 203.0.113.7\r\n\r\nearly bytes;',
      );
      await eventually(async () => (answer().includes('EARLY BYTES;') ? true : undefined));
      client.write('later bytes');
      await eventually(async () => (answer().includes('LATER BYTES') ? true : undefined));
      expect(answer()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);

      const forwarded = received[0]?.toString('utf8') ?? '';
      expect(forwarded.split('\r\n')).toEqual([
        'GET /v1/device?app=2.3 HTTP/1.1',
        'Host: reach.example',
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Authorization: Bearer dt_secret',
        'X-Forwarded-For: 203.0.113.7, 127.0.0.1',
        '',
        '',
      ]);
      client.destroy();
      await eventually(async () => (edge.proxy.activeConnections === 0 ? true : undefined));
    } finally {
      await new Promise((resolve) => owner.close(resolve));
    }
  });

  it('answers 503 with Retry-After when no owner is published, and proxies again once one is', async () => {
    const edge = await startEdge(() => cache.current());
    expect(await directory.withdraw('dispatcher-test')).toBe(true);
    await eventually(async () => (cache.current() === null ? true : undefined));
    try {
      const answer = await upgradeRequest(edge.port, '/v1/device');
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe('1');
      await expect(simulator(edge, 'dt_good_2').connect()).rejects.toMatchObject({ status: 503 });
      expect(await edge.registry.metrics()).toContain('reach_device_edge_upgrades_total{outcome="no-owner"} 2');
    } finally {
      await publishGateway();
    }
    await expect(simulator(edge, 'dt_good_2').connect()).resolves.toMatchObject({ deviceId: 'dev-2' });
  });

  it('answers 503 with Retry-After when the owner does not accept the connection', async () => {
    const closedPort = await freePort();
    const edge = await startEdge(() => `http://127.0.0.1:${closedPort}`);
    const answer = await upgradeRequest(edge.port, '/v1/device');
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(await edge.registry.metrics()).toContain('reach_device_edge_upgrades_total{outcome="owner-unreachable"} 1');
    await eventually(async () => (edge.proxy.activeConnections === 0 ? true : undefined));
  });

  it('answers 503 beyond the connection limit; closeAll cuts the proxied connections', async () => {
    const edge = await startEdge(() => cache.current(), 1);
    const first = simulator(edge, 'dt_good_3');
    await first.connect();
    const answer = await upgradeRequest(edge.port, '/v1/device');
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(await edge.registry.metrics()).toContain('reach_device_edge_upgrades_total{outcome="over-limit"} 1');

    const disconnected = new Promise((resolve) => first.once('disconnected', resolve));
    edge.proxy.closeAll();
    await disconnected;
    await eventually(async () => (edge.proxy.activeConnections === 0 && !gateway.isOnline('dev-3') ? true : undefined));
  });

  it('answers 404 to upgrades on other paths and leaves plain requests to the HTTP server', async () => {
    const edge = await startEdge(() => cache.current());
    const answer = await upgradeRequest(edge.port, '/v1/other');
    expect(answer.status).toBe(404);
    expect(answer.headers['retry-after']).toBeUndefined();
    const plain = await fetch(`http://127.0.0.1:${edge.port}/v1/device`);
    expect(await plain.text()).toBe('rest api');
  });
});

/** Sends a WebSocket-style upgrade request and resolves with the HTTP answer (101 when upgraded). */
function upgradeRequest(port: number, path: string): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    request.on('response', (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
    });
    request.on('error', reject);
    request.end();
  });
}

function collect(socket: Socket): () => string {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  socket.on('error', () => undefined);
  return () => text;
}

/** A port nothing listens on (taken, then released). */
async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
