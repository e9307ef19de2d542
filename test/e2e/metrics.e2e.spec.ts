import { parsePrometheusText, sampleValue, type PrometheusFamily } from '@reach/testing';
import { http, newAccountWithNumber, send, TO, waitForMessage, type TestAccount } from './support';

/** Each service's port is the platform's base port plus its offset (scripts/platform-launcher.cjs). */
const SERVICES = { 'api-gateway': 0, dispatcher: 1, scheduler: 2, callbacks: 3, projector: 4 } as const;
type Service = keyof typeof SERVICES;
type Scrape = ReadonlyMap<string, PrometheusFamily>;

const basePort = Number(process.env['E2E_BASE_PORT_IN_USE']);

async function scrape(service: Service): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${basePort + SERVICES[service]}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

async function scrapeAll(): Promise<Record<Service, Scrape>> {
  const services = Object.keys(SERVICES) as Service[];
  const scrapes = await Promise.all(services.map(scrape));
  return Object.fromEntries(services.map((service, i) => [service, scrapes[i]!])) as Record<Service, Scrape>;
}

/** A counter's (or a histogram count's) value; 0 when the labelled series does not exist yet. */
const count = (families: Scrape, name: string, labels: Record<string, string> = {}) => sampleValue(families, name, labels) ?? 0;

/** Polls `probe` until it returns a value, like support.ts's waitForMessage. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not seen within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const STEPS = [
  { from: 'queued', to: 'dispatched' },
  { from: 'dispatched', to: 'sent' },
  { from: 'sent', to: 'delivered' },
] as const;

// Other suites send through the same platform at the same time: every figure is a lower bound.
describe('GET /metrics of every service, around a real send', () => {
  let account: TestAccount;
  let before: Record<Service, Scrape>;

  beforeAll(async () => {
    expect(Number.isInteger(basePort) && basePort > 0).toBe(true);
    account = await newAccountWithNumber();
    before = await scrapeAll();
  });

  it('every service speaks the Prometheus text format, with # TYPE lines and the default process metrics', async () => {
    for (const [service, families] of Object.entries(before)) {
      const typed = [...families.values()].filter((f) => f.type !== 'untyped');
      expect({ service, typed: typed.length > 10 }).toEqual({ service, typed: true });
      expect({ service, type: families.get('process_cpu_user_seconds_total')?.type }).toEqual({ service, type: 'counter' });
    }
    expect(before.scheduler.get('reach_scheduler_timers_pending')?.type).toBe('gauge');
    expect(before.scheduler.get('reach_scheduler_timer_lateness_seconds')?.type).toBe('histogram');
    expect(before.callbacks.get('reach_callbacks_attempts_total')?.type).toBe('counter');
  });

  it('a ReachCell send moves the gateway counters, the lifecycle histograms, and leaves lag small', async () => {
    const response = await send(account, TO, 'metrics, please');
    expect(response.status).toBe(202);
    expect(response.body.data.status).toBe('dispatched');
    await waitForMessage(account, response.body.data.message_id, (m) => m.status === 'delivered');
    // Unknown routes and refused requests are counted too, under their route template or `unmatched`.
    expect((await http('GET', '/v1/nowhere/42')).status).toBe(404);
    expect((await http('POST', '/v1/sms/send', { json: { from: account.number, to: TO, body: 'no key' } })).status).toBe(401);

    const gateway = await scrape('api-gateway');
    const accepted = { dialect: 'reachcell', status: 'dispatched' };
    expect(count(gateway, 'reach_messages_accepted_total', accepted)).toBeGreaterThanOrEqual(count(before['api-gateway'], 'reach_messages_accepted_total', accepted) + 1);
    for (const [route, status] of [['/v1/sms/send', '202'], ['/v1/sms/send', '401'], ['/v1/sms/:messageId', '200'], ['unmatched', '404']] as const) {
      const labels = { method: route === '/v1/sms/send' ? 'POST' : 'GET', route, status_code: status };
      expect({ labels, grew: count(gateway, 'reach_http_requests_total', labels) >= count(before['api-gateway'], 'reach_http_requests_total', labels) + 1 }).toEqual({
        labels,
        grew: true,
      });
    }
    const sendTimings = { method: 'POST', route: '/v1/sms/send' };
    expect(count(gateway, 'reach_http_request_duration_seconds_count', sendTimings)).toBeGreaterThanOrEqual(
      count(before['api-gateway'], 'reach_http_request_duration_seconds_count', sendTimings) + 2,
    );
    // Raw paths and ids never become label values.
    expect(sampleValue(gateway, 'reach_http_requests_total', { route: `/v1/sms/${response.body.data.message_id}` })).toBeUndefined();
    expect(sampleValue(gateway, 'reach_http_requests_total', { route: '/v1/nowhere/42' })).toBeUndefined();

    // The projection observes each step as it first applies the event: it may trail GET (read-your-writes).
    const projector = await eventually(async () => {
      const now = await scrape('projector');
      const grew =
        STEPS.every((step) => count(now, 'reach_message_transition_seconds_count', step) >= count(before.projector, 'reach_message_transition_seconds_count', step) + 1) &&
        count(now, 'reach_message_end_to_end_seconds_count') >= count(before.projector, 'reach_message_end_to_end_seconds_count') + 1;
      return grew ? now : undefined;
    }, 'transition and end-to-end histograms grew');
    expect(projector.get('reach_message_transition_seconds')?.type).toBe('histogram');
    expect(count(projector, 'reach_message_transition_seconds_count', { from: 'accepted', to: 'queued' })).toBeGreaterThanOrEqual(1);

    // Lag: present on every scrape, and small once the platform has caught up with the suites' traffic.
    for (const name of ['reach_relay_lag_events', 'reach_relay_lag_seconds']) expect(projector.get(name)?.type).toBe('gauge');
    expect(sampleValue(projector, 'reach_projection_lag_events', { projection: 'messages-projection' })).toBeDefined();
    await eventually(async () => {
      const now = await scrape('projector');
      const small =
        sampleValue(now, 'reach_relay_lag_events')! <= 100 &&
        sampleValue(now, 'reach_relay_lag_seconds')! < 5 &&
        sampleValue(now, 'reach_projection_lag_events', { projection: 'messages-projection' })! <= 100;
      return small ? true : undefined;
    }, 'relay and projection lag small');

    const dispatcher = await scrape('dispatcher');
    expect(sampleValue(dispatcher, 'reach_phones_online')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(dispatcher, 'reach_channel_up', { channel: 'simulated' })).toBe(1);
  });

  it('a Reach create is counted under its dialect and the status it answered', async () => {
    const created = await http<{ status: string }>('POST', '/rest/messaging/v1/create', {
      headers: { ApiUser: account.apiUser, ApiKey: account.apiKey },
      rawBody: new URLSearchParams({ src: account.number, dest: TO, body: 'metrics, Reach' }).toString(),
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(created.status).toBe(200);
    const gateway = await scrape('api-gateway');
    const labels = { dialect: 'reach', status: created.body.status };
    expect(count(gateway, 'reach_messages_accepted_total', labels)).toBeGreaterThanOrEqual(count(before['api-gateway'], 'reach_messages_accepted_total', labels) + 1);
    const route = { method: 'POST', route: '/rest/messaging/v1/create', status_code: '200' };
    expect(count(gateway, 'reach_http_requests_total', route)).toBeGreaterThanOrEqual(count(before['api-gateway'], 'reach_http_requests_total', route) + 1);
  });
});
