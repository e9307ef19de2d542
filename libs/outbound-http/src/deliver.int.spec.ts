import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliver } from './deliver';
import {
  DeliveryConnectionError,
  DeliveryTimeoutError,
  ForbiddenDestinationError,
  InvalidDestinationUrlError,
} from './outbound-http.errors';
import { createSafeDispatcher, type HostLookup, type SafeDispatcher } from './safe-dispatcher';

// Every server here listens on 127.0.0.1 and every request goes there: no other traffic.

interface TestServer {
  readonly server: Server;
  readonly port: number;
  /** TCP connections accepted, so "received nothing" covers more than completed requests. */
  connections: number;
  readonly requests: Array<{ readonly method: string; readonly url: string; readonly host: string; readonly body: string }>;
}

async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', body: Buffer.concat(chunks).toString() });
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const state: TestServer = { server, port: (server.address() as AddressInfo).port, connections: 0, requests: [] };
  server.on('connection', () => {
    state.connections += 1;
  });
  return state;
}

async function stopServer(test: TestServer): Promise<void> {
  test.server.closeAllConnections();
  await new Promise<void>((resolve) => test.server.close(() => resolve()));
}

const started: TestServer[] = [];
const dispatchers: SafeDispatcher[] = [];

async function server(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const test = await startServer(handler);
  started.push(test);
  return test;
}

function dispatcher(options: { allowPrivate: boolean; lookup?: HostLookup }): SafeDispatcher {
  const created = createSafeDispatcher({ connectTimeoutMs: 2000, ...options });
  dispatchers.push(created);
  return created;
}

const ok = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'x-receiver': 'test' }).end('received');
};

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.destroy()));
  await Promise.all(started.splice(0).map(stopServer));
});

describe('deliver with allowPrivate=false', () => {
  it('refuses http://127.0.0.1 and the server receives nothing', async () => {
    const receiver = await server(ok);
    const attempt = deliver(`http://127.0.0.1:${receiver.port}/hook`, { method: 'POST', body: 'x', dispatcher: dispatcher({ allowPrivate: false }) });
    await expect(attempt).rejects.toBeInstanceOf(ForbiddenDestinationError);
    await expect(attempt).rejects.toMatchObject({ host: '127.0.0.1', address: '127.0.0.1', reason: 'loopback (127.0.0.0/8)' });
    expect(receiver.connections).toBe(0);
  });

  it('refuses http://localhost (resolved by the system resolver) and the server receives nothing', async () => {
    const receiver = await server(ok);
    const attempt = deliver(`http://localhost:${receiver.port}/hook`, { method: 'POST', body: 'x', dispatcher: dispatcher({ allowPrivate: false }) });
    await expect(attempt).rejects.toBeInstanceOf(ForbiddenDestinationError);
    await expect(attempt).rejects.toMatchObject({ host: 'localhost' });
    expect(receiver.connections).toBe(0);
  });

  it('refuses http://[::ffff:127.0.0.1] (IPv4-mapped loopback literal)', async () => {
    const receiver = await server(ok);
    const attempt = deliver(`http://[::ffff:127.0.0.1]:${receiver.port}/`, { method: 'POST', dispatcher: dispatcher({ allowPrivate: false }) });
    await expect(attempt).rejects.toMatchObject({ code: 'FORBIDDEN_DESTINATION', address: '::ffff:7f00:1' });
    expect(receiver.connections).toBe(0);
  });

  it('refuses a public-looking name whose lookup answers a private address (DNS rebinding) and sends nothing', async () => {
    const receiver = await server(ok);
    const lookups: string[] = [];
    const lookup: HostLookup = async (hostname) => {
      lookups.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const attempt = deliver(`http://rebind.test:${receiver.port}/hook`, { method: 'POST', body: 'x', dispatcher: dispatcher({ allowPrivate: false, lookup }) });
    await expect(attempt).rejects.toMatchObject({ code: 'FORBIDDEN_DESTINATION', host: 'rebind.test', address: '127.0.0.1' });
    expect(lookups).toEqual(['rebind.test']);
    expect(receiver.connections).toBe(0);
  });
});

describe('deliver with allowPrivate=true', () => {
  it('delivers and returns status, headers, body and latency', async () => {
    const receiver = await server(ok);
    const response = await deliver(`http://127.0.0.1:${receiver.port}/hook?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-reach-signature': 'sig' },
      body: '{"event":"delivered"}',
      dispatcher: dispatcher({ allowPrivate: true }),
    });
    expect(response).toMatchObject({ status: 200, bodyText: 'received', headers: expect.objectContaining({ 'x-receiver': 'test' }) });
    expect(response.latencyMs).toBeGreaterThanOrEqual(0);
    expect(receiver.requests).toEqual([{ method: 'POST', url: '/hook?x=1', host: `127.0.0.1:${receiver.port}`, body: '{"event":"delivered"}' }]);
  });

  it('connects to the address the lookup answered, keeping the name in the Host header', async () => {
    const receiver = await server(ok);
    const lookup: HostLookup = async () => [{ address: '127.0.0.1', family: 4 }];
    const response = await deliver(`http://hooks.rebind.test:${receiver.port}/`, { method: 'POST', dispatcher: dispatcher({ allowPrivate: true, lookup }) });
    expect(response.status).toBe(200);
    expect(receiver.requests.map((r) => r.host)).toEqual([`hooks.rebind.test:${receiver.port}`]);
  });

  it('keeps only the first 4 KiB of the body', async () => {
    const receiver = await server((_req, res) => res.writeHead(500).end('a'.repeat(100_000)));
    const response = await deliver(`http://127.0.0.1:${receiver.port}/`, { method: 'POST', dispatcher: dispatcher({ allowPrivate: true }) });
    expect(response.status).toBe(500);
    expect(response.bodyText).toBe('a'.repeat(4096));
  });

  it('returns a 302 as is and does not follow it: the redirect target receives nothing', async () => {
    const target = await server(ok);
    const redirecting = await server((_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${target.port}/elsewhere` }).end());
    const response = await deliver(`http://127.0.0.1:${redirecting.port}/`, { method: 'POST', body: 'x', dispatcher: dispatcher({ allowPrivate: true }) });
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`http://127.0.0.1:${target.port}/elsewhere`);
    expect(redirecting.requests).toHaveLength(1);
    expect(target.connections).toBe(0);
  });

  it('throws DeliveryTimeoutError within the total timeout when the server never answers', async () => {
    const silent = await server(() => undefined);
    const startedAt = Date.now();
    const attempt = deliver(`http://127.0.0.1:${silent.port}/`, { method: 'POST', timeoutMs: 300, dispatcher: dispatcher({ allowPrivate: true }) });
    await expect(attempt).rejects.toBeInstanceOf(DeliveryTimeoutError);
    await expect(attempt).rejects.toMatchObject({ code: 'DELIVERY_TIMEOUT', phase: 'total', timeoutMs: 300 });
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(silent.requests).toHaveLength(1);
  });

  it('throws DeliveryConnectionError for a closed port', async () => {
    const closed = await startServer(ok);
    await stopServer(closed);
    const attempt = deliver(`http://127.0.0.1:${closed.port}/`, { method: 'POST', dispatcher: dispatcher({ allowPrivate: true }) });
    await expect(attempt).rejects.toBeInstanceOf(DeliveryConnectionError);
    await expect(attempt).rejects.toMatchObject({ code: 'DELIVERY_CONNECTION_FAILED', detail: expect.stringContaining('ECONNREFUSED') });
  });

  it('throws DeliveryConnectionError when the name resolves to nothing', async () => {
    const lookup: HostLookup = async () => [];
    const attempt = deliver('http://nowhere.test/', { method: 'POST', dispatcher: dispatcher({ allowPrivate: true, lookup }) });
    await expect(attempt).rejects.toMatchObject({ code: 'DELIVERY_CONNECTION_FAILED', detail: expect.stringContaining('ENOTFOUND') });
  });
});

describe('deliver, URL checks', () => {
  it.each(['ftp://127.0.0.1/x', 'file:///etc/passwd', 'gopher://127.0.0.1:70/', 'not a url', '/relative'])('refuses %s before any I/O', async (url) => {
    await expect(deliver(url, { method: 'POST', dispatcher: dispatcher({ allowPrivate: true }) })).rejects.toBeInstanceOf(InvalidDestinationUrlError);
  });
});
