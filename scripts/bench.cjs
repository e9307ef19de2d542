'use strict';
/**
 * `npm run bench`: starts the platform (own database, NATS namespace and ports), then measures
 *   1. accepted sends/s and accept latency p50/p99 — closed loop at BENCH_CONCURRENCY for BENCH_SECONDS;
 *   2. end-to-end latency (accept → `delivered` visible to GET) p50/p99 at BENCH_RATE sends/s offered;
 *   3. the baseline — a bare HTTP endpoint doing one durable INSERT per request into the same
 *      PostgreSQL at the same concurrency — and our/baseline ratio.
 * A script to run and quote, not a test: figures depend on the machine.
 */
const { fork, execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const { Pool: HttpPool } = require('undici');
const { Client } = require('pg');
const { ensureNats, ensurePostgres } = require('./local-infrastructure.cjs');
const { startPlatform } = require('./platform-launcher.cjs');

const root = path.resolve(__dirname, '..');
const fs = require('node:fs');

/** CPU seconds (user + system) used so far by each of our processes, PostgreSQL and NATS (Linux /proc). */
function cpuSeconds(platform) {
  const ticks = (pid) => {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  };
  const result = {};
  for (const c of platform.children) result[c.name] = ticks(c.child.pid) / 100;
  let postgres = 0;
  let nats = 0;
  for (const entry of fs.existsSync('/proc') ? fs.readdirSync('/proc') : []) {
    if (!/^\d+$/.test(entry)) continue;
    let comm = '';
    try {
      comm = fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm === 'postgres') postgres += ticks(entry);
    if (comm === 'nats-server') nats += ticks(entry);
  }
  result.postgres = postgres / 100;
  result['nats-server'] = nats / 100;
  result.bench = (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
  return result;
}

function cpuPerMessage(before, after, messages) {
  return Object.fromEntries(Object.keys(after).map((k) => [k, +(((after[k] - (before[k] ?? 0)) * 1000) / messages).toFixed(3)]));
}
const settings = {
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 64),
  seconds: Number(process.env.BENCH_SECONDS ?? 15),
  rate: Number(process.env.BENCH_RATE ?? 1000),
  rateSeconds: Number(process.env.BENCH_RATE_SECONDS ?? 10),
  numbers: Number(process.env.BENCH_NUMBERS ?? 100),
  basePort: Number(process.env.BENCH_BASE_PORT ?? 4600),
  sendLatencyMs: Number(process.env.BENCH_SIM_SEND_LATENCY_MS ?? 20),
  deliveryLatencyMs: Number(process.env.BENCH_SIM_DELIVERY_LATENCY_MS ?? 30),
};
const log = (line) => process.stderr.write(`[bench] ${line}\n`);

const { percentile } = require('./bench-stats.cjs');

const ms = (n) => `${n.toFixed(1)} ms`;

/** Closed loop: `concurrency` workers, each sending the next request when the previous answers. */
async function closedLoop(url, pathName, concurrency, seconds, makeBody, headers) {
  const pool = new HttpPool(url, { connections: concurrency, pipelining: 1 });
  const latencies = [];
  let errors = 0;
  const deadline = Date.now() + seconds * 1000;
  let i = 0;
  const worker = async () => {
    while (Date.now() < deadline) {
      const body = JSON.stringify(makeBody(i++));
      const started = process.hrtime.bigint();
      try {
        const response = await pool.request({ method: 'POST', path: pathName, headers, body });
        await response.body.text();
        if (response.statusCode === 202) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  const began = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (Date.now() - began) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { accepted: latencies.length, errors, perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main() {
  const suffix = randomBytes(3).toString('hex');
  const baseUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/reach');
  const started = [];
  const pg = await ensurePostgres(baseUrl.toString(), log);
  if (pg) started.push(pg);
  const nats = await ensureNats(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', log);
  if (nats) started.push(nats);

  const dbUrl = new URL(baseUrl);
  dbUrl.pathname = `/reach_bench_${suffix}`;
  const env = {
    DATABASE_URL: dbUrl.toString(),
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    REACH_NAMESPACE: `bench${suffix}`,
    // Its own database, so a secret of its own: the callbacks service and reachctl share it.
    REACH_API_KEY_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    SIM_SEND_LATENCY_MS: String(settings.sendLatencyMs),
    SIM_DELIVERY_LATENCY_MS: String(settings.deliveryLatencyMs),
  };
  log(`starting the platform (database ${dbUrl.pathname.slice(1)}, simulated send ${settings.sendLatencyMs} ms + receipt ${settings.deliveryLatencyMs} ms)`);
  const platform = await startPlatform({ env, basePort: settings.basePort, output: 'inherit' });
  const cli = (...args) =>
    JSON.parse(execFileSync(process.execPath, [path.join(root, 'tools/reachctl/bin/reachctl.js'), ...args, '--json'], { env: { ...process.env, ...env } }).toString());

  const account = cli('account', 'create', '--name', 'bench', '--allowance', '1000000000', '--overage-price', '0');
  const numbers = [];
  for (let i = 0; i < settings.numbers; i++) {
    const number = `+1415${String(200 + Math.floor(i / 100)).padStart(3, '0')}${String(1000 + (i % 100)).padStart(4, '0')}`;
    cli('number', 'add', '--account', account.accountId, '--number', number);
    numbers.push(number);
  }
  const headers = { authorization: `Bearer ${account.apiKey}`, 'content-type': 'application/json' };
  const sendBody = (i) => ({ from: numbers[i % numbers.length], to: '+14155553000', body: `Your verification code is ${100000 + (i % 900000)}` });

  // Warm-up: JIT, connection pools, caches.
  await closedLoop(platform.gatewayUrl, '/v1/sms/send', settings.concurrency, 3, sendBody, headers);
  await waitForDrain(env.DATABASE_URL);

  log(`phase 1: accepted sends/s, closed loop, concurrency ${settings.concurrency}, ${settings.seconds} s`);
  const ours = await closedLoop(platform.gatewayUrl, '/v1/sms/send', settings.concurrency, settings.seconds, sendBody, headers);
  log(`  ${ours.perSecond.toFixed(0)} accepted/s, p50 ${ms(ours.p50)}, p99 ${ms(ours.p99)}, errors ${ours.errors}`);
  await waitForDrain(env.DATABASE_URL);

  log(`phase 2: end-to-end latency at ${settings.rate} sends/s offered for ${settings.rateSeconds} s`);
  const cpuBefore = cpuSeconds(platform);
  const e2e = await openLoopEndToEnd(platform.gatewayUrl, env.DATABASE_URL, headers, sendBody, account.apiKey);
  const cpuMsPerMessage = cpuPerMessage(cpuBefore, cpuSeconds(platform), e2e.accepted);
  log(`  CPU ms per message (accept → delivered, every process): ${JSON.stringify(cpuMsPerMessage)}`);
  log(`  ${e2e.delivered}/${e2e.accepted} delivered; p50 ${ms(e2e.p50)}, p99 ${ms(e2e.p99)}; GET spot checks ${e2e.spotChecks} agreed`);

  await platform.stop();

  log(`phase 3: baseline (bare HTTP + one INSERT per request), concurrency ${settings.concurrency}, ${settings.seconds} s`);
  const baseline = await runBaseline(env.DATABASE_URL, settings.basePort + 50, settings.concurrency, settings.seconds, sendBody);
  log(`  ${baseline.perSecond.toFixed(0)} req/s, p50 ${ms(baseline.p50)}, p99 ${ms(baseline.p99)}`);

  const ratio = ours.perSecond / baseline.perSecond;
  const report = {
    machine: { cores: require('node:os').cpus().length, node: process.version },
    settings,
    accept: { perSecond: Math.round(ours.perSecond), p50Ms: +ours.p50.toFixed(2), p99Ms: +ours.p99.toFixed(2), errors: ours.errors },
    endToEnd: { offeredPerSecond: settings.rate, achievedPerSecond: Math.round(e2e.achieved), accepted: e2e.accepted, delivered: e2e.delivered, p50Ms: +e2e.p50.toFixed(1), p99Ms: +e2e.p99.toFixed(1) },
    baseline: { perSecond: Math.round(baseline.perSecond), p50Ms: +baseline.p50.toFixed(2), p99Ms: +baseline.p99.toFixed(2) },
    cpuMsPerMessage,
    ratio: +ratio.toFixed(3),
    targets: {
      'accepted >= 3000/s': ours.perSecond >= 3000,
      'ratio >= 0.6': ratio >= 0.6,
      'end-to-end p50 <= 250 ms at 1000/s': e2e.p50 <= 250,
    },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

  await dropDatabase(dbUrl.toString());
  for (const dependency of started.reverse()) await dependency.stop();
}

/** Waits until the dispatcher has finished everything in flight, so phases do not overlap. */
async function waitForDrain(databaseUrl) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const { rows } = await client.query('select count(*)::int as n from dispatch_queue');
      if (rows[0].n === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    log('  warning: the dispatch queue did not drain within 120 s');
  } finally {
    await client.end();
  }
}

/**
 * Open loop at a fixed rate. A message counts as delivered when GET would show it: GET reads the
 * `messages` read model, whose rows record when they were written (`projected_at`), so latency is
 * measured without polling — once the run has drained — and a sample is also fetched over HTTP to
 * check the two agree.
 */
async function openLoopEndToEnd(url, databaseUrl, headers, sendBody, apiKey) {
  const pool = new HttpPool(url, { connections: 64 });
  const acceptedAt = new Map();
  const total = settings.rate * settings.rateSeconds;
  const intervalMs = 1000 / settings.rate;
  const began = performance.now();
  const inFlight = [];
  for (let i = 0; i < total; i++) {
    const due = began + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      (async () => {
        const t = Date.now();
        const response = await pool.request({ method: 'POST', path: '/v1/sms/send', headers, body: JSON.stringify(sendBody(i)) });
        const json = await response.body.json();
        if (response.statusCode === 202) acceptedAt.set(json.data.message_id, t);
      })().catch(() => undefined),
    );
  }
  await Promise.all(inFlight);
  const achieved = total / ((performance.now() - began) / 1000);

  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const ids = [...acceptedAt.keys()];
  const deadline = Date.now() + 120_000;
  let rows = [];
  while (Date.now() < deadline) {
    ({ rows } = await client.query(
      `select message_id, (extract(epoch from projected_at) * 1000)::float8 as visible_ms from messages where status = 'delivered' and message_id = any($1::uuid[])`,
      [ids],
    ));
    if (rows.length === ids.length) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await client.end();
  const latencies = rows.map((row) => row.visible_ms - acceptedAt.get(row.message_id)).sort((a, b) => a - b);

  let spotChecks = 0;
  for (const id of ids.slice(0, 20)) {
    const response = await pool.request({ method: 'GET', path: `/v1/sms/${id}`, headers: { authorization: `Bearer ${apiKey}` } });
    const json = await response.body.json();
    if (json.data?.status === 'delivered') spotChecks++;
  }
  await pool.close();
  return { accepted: acceptedAt.size, delivered: latencies.length, achieved, p50: percentile(latencies, 50), p99: percentile(latencies, 99), spotChecks: `${spotChecks}/20` };
}

async function runBaseline(databaseUrl, port, concurrency, seconds, sendBody) {
  const child = fork(path.join(__dirname, 'bench-baseline-server.cjs'), [], { env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port) } });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  await closedLoop(url, '/send', concurrency, 3, sendBody, { 'content-type': 'application/json' });
  const result = await closedLoop(url, '/send', concurrency, seconds, sendBody, { 'content-type': 'application/json' });
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  return result;
}

async function dropDatabase(databaseUrl) {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`drop database if exists "${name}" with (force)`);
  await client.end();
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
