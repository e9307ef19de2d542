'use strict';
/**
 * `npm run bench:callbacks`: the callbacks service (`node services/callbacks/dist/main.js`, the
 * real process, default settings) delivering webhooks to local receivers, in its own database
 * (reach_bench_cb_<random>) and NATS namespace; everything is removed at the end.
 *
 *   1. Throughput: BENCH_CB_BACKLOG webhook deliveries spread over 10 healthy endpoints are in the
 *      outbox when the service starts. Deliveries/s = deliveries / (last arrival − first arrival),
 *      counted by the receiver (each delivery id once) and checked against the outbox.
 *   2. Isolation: 20 endpoints, half of which accept connections and never answer (every attempt
 *      runs into the 15 s timeout, then the retry schedule). New deliveries are written to the
 *      outbox at BENCH_CB_RATE/s for BENCH_CB_SECONDS s, round-robin over all 20 endpoints. For
 *      the healthy half: latency = first arrival at the receiver − insert into the outbox,
 *      p50/p99/max.
 * The outbox rows are what the planner would write (same shape, signed the same way); planning
 * from events is measured by the e2e tests, not here. Prints a JSON report on stdout. A script to
 * run and quote, not a test: figures depend on the machine.
 */
const { fork, spawn } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
const path = require('node:path');
const { ensureNats, ensurePostgres } = require('./local-infrastructure.cjs');

const root = path.resolve(__dirname, '..');
const { natsNames } = require(path.join(root, 'libs/contracts/dist'));
const { ensureDatabaseExists, migrateToLatest, openDatabase } = require(path.join(root, 'libs/database/dist'));
const { connectNats, deleteTopology, drainNats } = require(path.join(root, 'libs/messaging/dist'));
const { createWebhook, insertPlannedDeliveries, deliveryIdFor, webhookTarget } = require(path.join(root, 'libs/webhooks/dist'));

const settings = {
  backlog: Number(process.env.BENCH_CB_BACKLOG ?? 20_000),
  rate: Number(process.env.BENCH_CB_RATE ?? 400),
  seconds: Number(process.env.BENCH_CB_SECONDS ?? 30),
  port: Number(process.env.BENCH_CB_PORT ?? 4803),
};
const log = (line) => process.stderr.write(`[bench:callbacks] ${line}\n`);
const { round, sleep, summary } = require('./bench-stats.cjs');

function ask(child, message, answer) {
  return new Promise((resolve) => {
    const onMessage = (reply) => {
      if (reply.type !== answer) return;
      child.off('message', onMessage);
      resolve(reply);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

async function startService(env) {
  const child = spawn(process.execPath, [path.join(root, 'services/callbacks/dist/main.js')], {
    cwd: root,
    env: { ...process.env, ...env, CALLBACKS_PORT: String(settings.port) },
    stdio: ['ignore', 2, 2],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`callbacks exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`http://127.0.0.1:${settings.port}/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('callbacks not ready within 60 s');
    await sleep(20);
  }
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function webhookPlan(webhook, accountId) {
  const eventId = randomUUID();
  const payload = JSON.stringify({
    event_id: eventId,
    event_type: 'sms.delivered',
    api_version: 'v1',
    timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    data: { message_id: randomUUID(), from: '+14155552671', to: '+14155553000', body: 'Your code is 482910', status: 'delivered' },
  });
  return {
    id: deliveryIdFor(eventId, webhookTarget(webhook.id)),
    accountId,
    kind: 'webhook',
    webhookId: webhook.id,
    messageId: null,
    eventId,
    eventType: 'sms.delivered',
    url: webhook.url,
    endpointKey: webhookTarget(webhook.id),
    orderingKey: `bench:${eventId}`,
    sequence: 0n,
    contentType: 'application/json',
    payload,
  };
}

async function main() {
  const baseUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/reach');
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const started = [];
  const pg = await ensurePostgres(baseUrl.toString(), log);
  if (pg) started.push(pg);
  const nats = await ensureNats(natsUrl, log);
  if (nats) started.push(nats);

  const suffix = randomBytes(4).toString('hex');
  const namespace = `benchcb${suffix}`;
  const databaseUrl = new URL(baseUrl);
  databaseUrl.pathname = `/reach_bench_cb_${suffix}`;
  await ensureDatabaseExists(databaseUrl.toString());
  const database = openDatabase(databaseUrl.toString(), { max: 8 });
  await migrateToLatest(database.db);
  const receiver = fork(path.join(__dirname, 'bench-callbacks-receiver.cjs'), [], { stdio: ['ignore', 2, 2, 'ipc'] });
  const env = {
    DATABASE_URL: databaseUrl.toString(),
    NATS_URL: natsUrl,
    REACH_NAMESPACE: namespace,
    REACH_API_KEY_SECRET: randomBytes(32).toString('hex'),
    WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
    LOG_LEVEL: 'warn',
  };
  const report = { settings, machine: { cpus: require('node:os').cpus().length } };
  let service = null;
  try {
    const accountId = randomUUID();
    await database.db
      .insertInto('accounts')
      .values({ id: accountId, name: 'bench', api_user: `AID${randomBytes(12).toString('hex').toUpperCase()}`, monthly_allowance_segments: 0, overage_price_per_segment_usd: 0 })
      .execute();
    const endpoints = [...Array(10).fill(true), ...Array(10).fill(false)];
    const { ports } = await ask(receiver, { type: 'listen', endpoints }, 'listening');
    const webhooks = [];
    for (const [i, port] of ports.entries()) {
      const { webhook } = await createWebhook(database.db, {
        accountId,
        url: `http://127.0.0.1:${port}/hooks/${i}`,
        label: endpoints[i] ? `healthy ${i}` : `dead ${i}`,
        events: ['sms.delivered'],
        now: new Date(),
      });
      webhooks.push({ ...webhook, healthy: endpoints[i] });
    }
    const healthy = webhooks.filter((w) => w.healthy);

    // 1. Throughput from a backlog.
    log(`phase 1: ${settings.backlog} deliveries to 10 healthy endpoints`);
    const backlog = Array.from({ length: settings.backlog }, (_, i) => webhookPlan(healthy[i % healthy.length], accountId));
    for (let i = 0; i < backlog.length; i += 1000) await insertPlannedDeliveries(database.db, backlog.slice(i, i + 1000), new Date());
    service = await startService(env);
    const phase1Deadline = Date.now() + 300_000;
    for (;;) {
      const { count } = await database.db.selectFrom('deliveries').select((eb) => eb.fn.countAll().as('count')).where('state', '=', 'succeeded').executeTakeFirstOrThrow();
      if (Number(count) >= settings.backlog) break;
      if (Date.now() > phase1Deadline) throw new Error(`phase 1: only ${count} of ${settings.backlog} delivered within 300 s`);
      await sleep(100);
    }
    const first = await ask(receiver, { type: 'report' }, 'report');
    const arrivals = first.firstSeen.map(([, at]) => at).sort((a, b) => a - b);
    const spanMs = arrivals[arrivals.length - 1] - arrivals[0];
    report.throughput = {
      delivered: arrivals.length,
      requests: first.requests,
      spanMs,
      deliveriesPerSecond: round((arrivals.length - 1) / (spanMs / 1000), 0),
    };
    log(`phase 1: ${JSON.stringify(report.throughput)}`);
    await ask(receiver, { type: 'reset' }, 'reset');

    // 2. Healthy endpoints' latency while half the endpoints time out.
    log(`phase 2: ${settings.rate}/s for ${settings.seconds} s over 20 endpoints, 10 of which never answer`);
    const insertedAt = new Map();
    const total = settings.rate * settings.seconds;
    const tick = 50;
    const perTick = (settings.rate * tick) / 1000;
    const began = Date.now();
    let written = 0;
    let index = 0;
    while (written < total) {
      const due = Math.min(total, Math.floor(((Date.now() - began) / tick + 1) * perTick));
      const batch = [];
      while (written + batch.length < due) {
        batch.push(webhookPlan(webhooks[index % webhooks.length], accountId));
        index += 1;
      }
      if (batch.length > 0) {
        const at = new Date();
        await insertPlannedDeliveries(database.db, batch, at);
        for (const plan of batch) if (webhooks.find((w) => w.id === plan.webhookId).healthy) insertedAt.set(plan.id, at.getTime());
        written += batch.length;
      }
      await sleep(Math.max(0, began + (written / perTick) * tick - Date.now()));
    }
    const healthyIds = [...insertedAt.keys()];
    const phase2Deadline = Date.now() + 60_000;
    let seen = new Map();
    for (;;) {
      seen = new Map((await ask(receiver, { type: 'report' }, 'report')).firstSeen);
      if (healthyIds.every((id) => seen.has(id)) || Date.now() > phase2Deadline) break;
      await sleep(200);
    }
    const latencies = healthyIds.filter((id) => seen.has(id)).map((id) => seen.get(id) - insertedAt.get(id));
    const deadStates = await database.db
      .selectFrom('deliveries')
      .select(['state', (eb) => eb.fn.countAll().as('count')])
      .where('webhook_id', 'in', webhooks.filter((w) => !w.healthy).map((w) => w.id))
      .groupBy('state')
      .execute();
    report.isolation = {
      offeredPerSecond: settings.rate,
      seconds: settings.seconds,
      healthyDeliveries: healthyIds.length,
      healthyDelivered: latencies.length,
      healthyLatency: summary(latencies),
      deadEndpointDeliveries: Object.fromEntries(deadStates.map((row) => [row.state, Number(row.count)])),
    };
    log(`phase 2: ${JSON.stringify(report.isolation)}`);
  } finally {
    if (service) await service.stop();
    receiver.send({ type: 'stop' });
    await database.close();
    const { dropDatabase } = require(path.join(root, 'libs/testing/dist'));
    await dropDatabase(databaseUrl.toString()).catch(() => undefined);
    const nc = await connectNats({ url: natsUrl, name: 'bench-callbacks-cleanup', logger: require('pino')({ level: 'silent' }) });
    await deleteTopology(nc, natsNames(namespace)).catch(() => undefined);
    await drainNats(nc);
    for (const dependency of started.reverse()) await dependency.stop();
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error) => {
  log(`failed: ${error?.stack ?? String(error)}`);
  process.exit(1);
});
