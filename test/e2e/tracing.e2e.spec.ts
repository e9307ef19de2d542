import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Client } from 'pg';
import { dropDatabase } from '@reach/testing';

/**
 * Tracing and log correlation as deployed: real processes on a platform of this suite's own
 * (database, NATS namespace, ports), exporting spans over OTLP/HTTP (JSON) to a receiver run
 * here, with every process's output captured (LOG_LEVEL=debug, LOG_REQUESTS=true). One Reach
 * message, sent with the test's own `traceparent` and `X-Request-Id`, must come out as one trace
 * across gateway, relay, dispatcher, scheduler and callbacks, and every log line about it must
 * name it, its account, the request and the trace — while no line ever holds a credential.
 */
const root = path.resolve(__dirname, '../..');
const basePort = Number(process.env['E2E_BASE_PORT_IN_USE'] ?? 4300) + 90;
const suffix = randomBytes(4).toString('hex');
const databaseUrl = (() => {
  const url = new URL(process.env['E2E_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/reach');
  url.pathname = `/reach_e2e_trace_${suffix}`;
  return url.toString();
})();
const apiKeySecret = randomBytes(32).toString('hex');
const gatewayUrl = `http://127.0.0.1:${basePort}`;

const INTERNAL = 1;
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

interface CollectedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

interface Arrival {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface LogLine {
  readonly service: string;
  readonly raw: string;
  readonly json: Record<string, unknown> | null;
}

/** Receives OTLP/HTTP JSON exports (POST /v1/traces) and keeps every span with its service. */
class OtlpReceiver {
  readonly spans: CollectedSpan[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          const raw = Buffer.concat(chunks);
          this.collect(JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')));
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private collect(body: OtlpExport): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '?');
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            service,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            kind: span.kind,
            attributes: attributesOf(span.attributes),
          });
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpAttribute[] }[] }[];
  }[];
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) result[key] = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
  return result;
}

/** A status-callback and webhook receiver that answers 200 to everything and keeps what it got. */
class Receiver {
  readonly arrivals: Arrival[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.arrivals.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Every service as its own process, output captured line by line instead of printed. */
class CapturedPlatform {
  readonly lines: LogLine[] = [];
  private readonly children: { name: string; child: ChildProcess; port: number }[] = [];

  constructor(readonly env: NodeJS.ProcessEnv) {}

  async start(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SERVICES } = require(path.join(root, 'scripts/platform-launcher.cjs')) as {
      SERVICES: { name: string; portVar: string; offset: number }[];
    };
    for (const service of SERVICES) {
      const port = basePort + service.offset;
      const child = spawn(process.execPath, [path.join(root, 'services', service.name, 'dist', 'main.js')], {
        env: { ...this.env, [service.portVar]: String(port) },
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.capture(service.name, child);
      this.children.push({ name: service.name, child, port });
    }
    await Promise.all(this.children.map(({ name, child, port }) => waitReady(name, child, port)));
  }

  /** SIGTERM (graceful: in-flight work finishes, the last spans are exported), then wait for every exit. */
  async stop(): Promise<void> {
    for (const { child } of [...this.children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await gone;
      clearTimeout(timer);
    }
    this.children.length = 0;
  }

  private capture(service: string, child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const raw of parts) if (raw.trim() !== '') this.lines.push({ service, raw, json: parseJson(raw) });
      });
      stream?.on('end', () => {
        if (pending.trim() !== '') this.lines.push({ service, raw: pending, json: parseJson(pending) });
      });
    }
  }
}

function parseJson(raw: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function waitReady(name: string, child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let otlp: OtlpReceiver;
let receiver: Receiver;
let platform: CapturedPlatform;
let env: NodeJS.ProcessEnv;

async function reachctl<T>(...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'tools/reachctl/bin/reachctl.js'), ...args, '--json'], { env, cwd: root });
  return JSON.parse(stdout) as T;
}

async function withDatabase<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const testTraceId = randomBytes(16).toString('hex');
const testSpanId = randomBytes(8).toString('hex');
const requestId = `tracing-e2e-${suffix}`;

interface Account {
  accountId: string;
  apiKey: string;
  apiUser: string;
  number: string;
}
let account: Account;
let reachMessageId = '';

describe('tracing and log correlation across every hop', () => {
  beforeAll(async () => {
    otlp = await new OtlpReceiver().start();
    receiver = await new Receiver().start();
    env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      NATS_URL: process.env['E2E_NATS_URL'] ?? 'nats://127.0.0.1:4222',
      REACH_NAMESPACE: `e2etrace${suffix}`,
      REACH_API_KEY_SECRET: apiKeySecret,
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      LOG_LEVEL: 'debug',
      LOG_REQUESTS: 'true',
      SIM_SEND_LATENCY_MS: '50',
      SIM_DELIVERY_LATENCY_MS: '50',
      // A scheduled message may be due 2 s ahead, so its release is seen within the test.
      SCHEDULE_MIN_AHEAD_SECONDS: '2',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    delete env['OTEL_TRACES_EXPORTER'];
    delete env['OTEL_SDK_DISABLED'];
    delete env['OTEL_SERVICE_NAME'];
    delete env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
    platform = new CapturedPlatform(env);
    await platform.start();
    const created = await reachctl<{ accountId: string; apiKey: string; apiUser: string }>('account', 'create', '--name', 'tracing e2e');
    account = { ...created, number: '+14155550177' };
    await reachctl('number', 'add', '--account', account.accountId, '--number', account.number);
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    await receiver?.stop();
    await otlp?.stop();
    await dropDatabase(databaseUrl);
  }, 60_000);

  it("keeps one message's whole life in the client's trace: gateway, relay, dispatcher, scheduler, callbacks", async () => {
    const statusCallback = `${receiver.url}/status?trace=1`;
    const response = await fetch(`${gatewayUrl}/rest/messaging/v1/create`, {
      method: 'POST',
      headers: {
        ApiUser: account.apiUser,
        ApiKey: account.apiKey,
        'content-type': 'application/x-www-form-urlencoded',
        traceparent: `00-${testTraceId}-${testSpanId}-01`,
        'x-request-id': requestId,
      },
      body: new URLSearchParams({ src: account.number, dest: '+14155553000', body: 'traced', statusCallback }).toString(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    reachMessageId = ((await response.json()) as { messageId: string }).messageId;

    // The receiver gets queued, sent and delivered; each request carries a traceparent of the trace.
    const callbacks = await eventually('the delivered callback', () => {
      const mine = receiver.arrivals.filter((a) => new URLSearchParams(a.body).get('messageId') === reachMessageId);
      return mine.some((a) => new URLSearchParams(a.body).get('status') === 'delivered') ? mine : undefined;
    });
    expect(callbacks.map((a) => new URLSearchParams(a.body).get('status'))).toEqual(['queued', 'sent', 'delivered']);

    const inTrace = () => otlp.spans.filter((s) => s.traceId === testTraceId);
    const has = (service: string, kind: number, eventType?: string) =>
      inTrace().some((s) => s.service === service && s.kind === kind && (eventType === undefined || s.attributes['reach.event.type'] === eventType));
    await eventually('the spans of every hop', () =>
      has('api-gateway', SERVER) &&
      ['MessageAccepted', 'MessageQueued', 'MessageDispatched', 'MessageSent', 'MessageDelivered'].every((type) => has('projector', PRODUCER, type)) &&
      has('dispatcher', CONSUMER) &&
      has('scheduler', CONSUMER) &&
      inTrace().filter((s) => s.service === 'callbacks' && s.kind === CLIENT).length >= 3
        ? true
        : undefined,
    );
    const spans = inTrace();
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (span: CollectedSpan) => byId.get(span.parentSpanId);

    // One server span, child of the client's span; every other span's parent is a span of the trace.
    const servers = spans.filter((s) => s.kind === SERVER);
    expect(servers).toHaveLength(1);
    const server = servers[0]!;
    expect(server).toMatchObject({ service: 'api-gateway', parentSpanId: testSpanId, name: 'POST /rest/messaging/v1/create' });
    expect(server.attributes['http.response.status_code']).toBe(200);
    for (const span of spans) {
      if (span !== server) expect({ span: span.name, parentKnown: byId.has(span.parentSpanId) }).toEqual({ span: span.name, parentKnown: true });
    }
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['api-gateway', 'projector', 'dispatcher', 'scheduler', 'callbacks']));

    // Relay: the events the gateway appended hang off its span; the channel's reports off the dispatcher's.
    const relayed = (type: string) => spans.find((s) => s.kind === PRODUCER && s.attributes['reach.event.type'] === type)!;
    expect(parentOf(relayed('MessageAccepted'))).toBe(server);
    expect(parentOf(relayed('MessageQueued'))).toBe(server);
    for (const type of ['MessageDispatched', 'MessageSent', 'MessageDelivered']) {
      expect(parentOf(relayed(type))).toMatchObject({ service: 'dispatcher', kind: CONSUMER });
    }
    // Every consumer (dispatcher, scheduler, callbacks planner) is a child of a relay publish.
    for (const consumer of spans.filter((s) => s.kind === CONSUMER)) {
      expect(parentOf(consumer)).toMatchObject({ service: 'projector', kind: PRODUCER });
    }
    // Delivery attempts are children of the planner's consumer span they were planned in.
    const attempts = spans.filter((s) => s.service === 'callbacks' && s.kind === CLIENT);
    for (const attempt of attempts) expect(parentOf(attempt)).toMatchObject({ service: 'callbacks', kind: CONSUMER });

    // The receiver was told the trace: each request's traceparent names the attempt's span.
    const attemptIds = new Set(attempts.map((s) => s.spanId));
    for (const arrival of callbacks) {
      const [version, traceId, parentId] = String(arrival.headers['traceparent']).split('-');
      expect({ version, traceId, attempt: attemptIds.has(parentId ?? '') }).toEqual({ version: '00', traceId: testTraceId, attempt: true });
    }

    // The store kept the context in every event's metadata.
    const metadata = await withDatabase(async (db) =>
      (await db.query<{ type: string; metadata: Record<string, string> }>(`select type, metadata from events where stream_id = $1 order by revision`, [`message-${reachMessageId}`])).rows,
    );
    expect(metadata.map((row) => row.type)).toEqual(['MessageAccepted', 'MessageQueued', 'MessageDispatched', 'MessageSent', 'MessageDelivered']);
    for (const row of metadata) {
      expect(row.metadata).toMatchObject({ correlationId: requestId, messageId: reachMessageId, accountId: account.accountId });
      expect(row.metadata['traceparent']).toMatch(new RegExp(`^00-${testTraceId}-[0-9a-f]{16}-01$`));
    }
  });

  it("keeps a scheduled message in the client's trace through its release by the scheduler's timer", async () => {
    const scheduledTraceId = randomBytes(16).toString('hex');
    const scheduledRequestId = `tracing-e2e-scheduled-${suffix}`;
    const response = await fetch(`${gatewayUrl}/rest/messaging/v1/create`, {
      method: 'POST',
      headers: {
        ApiUser: account.apiUser,
        ApiKey: account.apiKey,
        'content-type': 'application/x-www-form-urlencoded',
        traceparent: `00-${scheduledTraceId}-${randomBytes(8).toString('hex')}-01`,
        'x-request-id': scheduledRequestId,
      },
      body: new URLSearchParams({ src: account.number, dest: '+14155553002', body: 'traced later', scheduledTime: new Date(Date.now() + 3_000).toISOString() }).toString(),
    });
    expect(response.status).toBe(200);
    const scheduled = (await response.json()) as { messageId: string; status: string };
    expect(scheduled.status).toBe('scheduled');

    // Released by the scheduler's timer (a new process's work, seconds later), then sent and delivered.
    const metadata = await eventually(
      'the scheduled message delivered',
      () =>
        withDatabase(async (db) => {
          const rows = (
            await db.query<{ type: string; metadata: Record<string, string> }>(`select type, metadata from events where stream_id = $1 order by revision`, [
              `message-${scheduled.messageId}`,
            ])
          ).rows;
          return rows.some((row) => row.type === 'MessageDelivered') ? rows : undefined;
        }),
      30_000,
    );
    expect(metadata.map((row) => row.type)).toEqual(['MessageAccepted', 'MessageScheduled', 'MessageQueued', 'MessageDispatched', 'MessageSent', 'MessageDelivered']);
    for (const row of metadata) {
      expect({ type: row.type, ...row.metadata }).toMatchObject({ type: row.type, correlationId: scheduledRequestId, messageId: scheduled.messageId });
      expect(row.metadata['traceparent']).toMatch(new RegExp(`^00-${scheduledTraceId}-[0-9a-f]{16}-01$`));
    }

    // The release ran in a span of the trace, a child of the consumer span that recorded the timer.
    const inTrace = () => otlp.spans.filter((s) => s.traceId === scheduledTraceId);
    const fire = await eventually('the release span', () => inTrace().find((s) => s.service === 'scheduler' && s.name === 'scheduler fire release'));
    expect(fire.kind).toBe(INTERNAL);
    const queuedTraceparent = metadata.find((row) => row.type === 'MessageQueued')!.metadata['traceparent'];
    expect(queuedTraceparent).toBe(`00-${scheduledTraceId}-${fire.spanId}-01`);
    const relayedQueued = await eventually('the relay of MessageQueued', () =>
      inTrace().find((s) => s.kind === PRODUCER && s.attributes['reach.event.type'] === 'MessageQueued'),
    );
    expect(relayedQueued.parentSpanId).toBe(fire.spanId);
    await eventually('the span that recorded the timer', () => inTrace().find((s) => s.spanId === fire.parentSpanId));
    const recorder = inTrace().find((s) => s.spanId === fire.parentSpanId)!;
    expect(recorder).toMatchObject({ service: 'scheduler', kind: CONSUMER });
    expect(inTrace().filter((s) => s.kind === SERVER)).toHaveLength(1);
  });

  it('logs every line about a message with its ids and the trace, and never a credential', async () => {
    expect(reachMessageId).not.toBe('');
    // Both dialects' credentials and a webhook secret pass through the gateway.
    const webhook = await fetch(`${gatewayUrl}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${account.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.url}/hook`, label: 'tracing', events: ['sms.sent', 'sms.delivered'] }),
    });
    expect(webhook.status).toBe(201);
    const webhookSecret = ((await webhook.json()) as { data: { secret: string } }).data.secret;
    expect(webhookSecret).toMatch(/^whsec_/);
    const sent = await fetch(`${gatewayUrl}/v1/sms/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${account.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: account.number, to: '+14155553001', body: 'traced too' }),
    });
    expect(sent.status).toBe(202);
    const generatedRequestId = sent.headers.get('x-request-id');
    expect(generatedRequestId).toMatch(/^[0-9a-f-]{36}$/);
    const reachCellMessageId = ((await sent.json()) as { data: { message_id: string } }).data.message_id;
    await eventually('the sms.delivered webhook', () =>
      receiver.arrivals.some((a) => a.path === '/hook' && a.body.includes(reachCellMessageId) && a.body.includes('sms.delivered')) ? true : undefined,
    );
    // A refused key is not a credential of anyone's, but it must not be echoed either.
    const refusedKey = `ak_${randomBytes(24).toString('hex')}`;
    expect((await fetch(`${gatewayUrl}/v1/sms`, { headers: { authorization: `Bearer ${refusedKey}` } })).status).toBe(401);

    // Stop the platform: graceful shutdown flushes every log line (and the last spans).
    await platform.stop();
    const lines = platform.lines;
    expect(lines.length).toBeGreaterThan(50);
    for (const secret of [account.apiKey, webhookSecret, apiKeySecret, refusedKey]) {
      const leaks = lines.filter((line) => line.raw.includes(secret));
      expect({ secret: secret.slice(0, 6), leaks: leaks.map((l) => `${l.service}: ${l.raw}`) }).toEqual({ secret: secret.slice(0, 6), leaks: [] });
    }

    // Lines about the traced message: from every hop, each naming message, account, request and trace.
    const about = lines.filter((line) => line.json?.['messageId'] === reachMessageId);
    expect(new Set(about.map((line) => line.service))).toEqual(new Set(['api-gateway', 'projector', 'dispatcher', 'scheduler', 'callbacks']));
    for (const line of about) {
      expect({ service: line.service, msg: line.json?.['msg'], ...pick(line.json!, ['accountId', 'correlationId', 'traceId']) }).toEqual({
        service: line.service,
        msg: line.json?.['msg'],
        accountId: account.accountId,
        correlationId: requestId,
        traceId: testTraceId,
      });
      expect(line.json?.['spanId']).toMatch(/^[0-9a-f]{16}$/);
    }
    // The gateway's request line names the message it accepted.
    expect(about.some((line) => line.service === 'api-gateway' && line.json?.['msg'] === 'request')).toBe(true);

    // The ReachCell message's lines carry the id the gateway generated for its request.
    const other = lines.filter((line) => line.json?.['messageId'] === reachCellMessageId);
    expect(other.length).toBeGreaterThan(0);
    for (const line of other) expect(line.json).toMatchObject({ accountId: account.accountId, correlationId: generatedRequestId });
  });
});

function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, record[key]]));
}
