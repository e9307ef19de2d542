'use strict';
/**
 * `npm run bench:channels`: the real channels at the edge of the platform, on the built code
 * (no NATS; Postgres only for part 2). Each part runs its server side in a child process of its
 * own.
 *
 *   1. SMPP: the SMSC simulator (scripts/bench-channels-smsc.cjs; receipts at once, all
 *      delivered) and one `SmppBind` (window BENCH_SMPP_WINDOW = 100, throughput cap
 *      BENCH_SMPP_CAP = 5,000/s, high enough not to be the limit) submitting BENCH_SMPP_MESSAGES =
 *      20,000 single-part messages, as many at a time as the window holds (one submit per free
 *      window slot, so the bind's queue stays empty and latencies are the window's, not a
 *      backlog's). Submitted/s (submit_sm_resp) and receipted/s (final receipts back), p50/p99 of
 *      submit → resp and submit → receipt. Then the cap at work: BENCH_SMPP_CAP_CHECK = 500/s on
 *      a fresh bind, 2,500 messages: throughput must settle at the cap, not at the window.
 *   2. SMPP channel: the dispatcher's own `SmppChannel` (services/dispatcher/dist) against the
 *      same SMSC simulator child, with its Postgres work: a `smpp_submissions` row per part
 *      written before `sent` is reported, and per receipt the lookup, the outcome update and the
 *      message's parts read back. A throwaway database `reach_bench_channels_<random>` on
 *      DATABASE_URL (default postgres://postgres@127.0.0.1:5432/reach), migrated, dropped at the
 *      end (on failure and Ctrl-C too); pool of BENCH_SMPP_CHANNEL_POOL = 20 connections (the
 *      dispatcher's DATABASE_POOL_SIZE default). One connector to the simulator (window and cap
 *      as in part 1) and routes for BENCH_SMPP_CHANNEL_SENDERS = 100 sender numbers, handed over
 *      through the channel's loader options; production defaults otherwise, metrics in a registry
 *      of their own. Driven as the dispatcher's pump drives it: `start({ reports, wake })`, then
 *      BENCH_SMPP_CHANNEL_MESSAGES = 20,000 single-part messages (senders in turn) handed over by
 *      `send` while `isReady(sender)` says yes and fewer than two windows of messages are handed
 *      over and not yet reported sent; a `wake` or a report resumes. The reports resolve at once:
 *      there is no event store here (the dispatcher appends an event per report), so the figures
 *      are the channel's, SMPP and Postgres, without the dispatcher's event writes. Sent/s
 *      (`reports.sent` calls) and delivered/s (`reports.delivered` calls), p50/p99 of
 *      send → sent and send → delivered.
 *   3. Devices: a `DeviceGatewayServer` (scripts/bench-channels-gateway.cjs, run with
 *      --expose-gc), BENCH_DEVICES = 1,000 `DeviceSimulator`s connecting to it, spread over
 *      BENCH_DEVICE_PROCESSES = 2 processes (scripts/bench-channels-devices.cjs: real phones do not
 *      share an event loop, and one loop for all of them would measure itself), then a warm-up
 *      round and BENCH_DEVICE_ROUNDS = 5 rounds of one command per device, each round issued in
 *      one burst. Command-to-device latency = when the simulator got the `send` frame − when the
 *      gateway's `sendCommand` was called (stamped in the command's body; all processes read the
 *      same wall clock). The simulators report accepted / sent / delivered for every command, so
 *      reports flow back meanwhile. The gateway's RSS before any device connected, with all of
 *      them online, and after the rounds (each after a full GC). Pacing is raised to 6,000
 *      sends/min per device; with one command per device per round even the default 30/min would
 *      hold nothing back. The bursts are the worst case: their p99 is mostly the time to write
 *      1,000 frames and for the simulator processes to read them while they answer 3 reports per
 *      command. Then the steady rate a gateway sees in production: devices are paced at 30
 *      sends/min each, so 1,000 of them take at most 500 commands/s in all. BENCH_DEVICE_RATE =
 *      500 commands/s for BENCH_DEVICE_RATE_SECONDS = 10 s, issued in the gateway process by a
 *      timer every 10 ms (rate / 100 a tick, more after a late tick so the rate holds), to the
 *      devices in turn (at 500/s each of 1,000 devices gets one every 2 s: 5 in 10 s, within even
 *      the default 30/min), same pacing and reports as in the bursts. Command-to-device p50 / p99 /
 *      max of that phase, against the same p99 target, and the gateway's RSS after it (full GC).
 *      BENCH_DEVICE_RATE=0 skips it.
 *
 * Prints a result block per part and a JSON summary on stdout; progress on stderr. A script to
 * run and quote, not a test: figures depend on the machine. The gateway process needs an open file
 * per device (BENCH_DEVICES + some); it stops early, saying so, when `ulimit -n` is lower.
 */
const { execFileSync, fork } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Client } = require('pg');
const pino = require('pino');
const { Registry } = require('prom-client');
const { round, sleep, summary } = require('./bench-stats.cjs');

const root = path.resolve(__dirname, '..');
const { SmppBind } = require(path.join(root, 'libs/smpp-channel/dist'));
const { ensureDatabaseExists, migrateToLatest, openDatabase, redactUrl } = require(path.join(root, 'libs/database/dist'));
const { SmppChannel } = require(path.join(root, 'services/dispatcher/dist/smpp-channel/smpp-channel.js'));

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/reach';

const settings = {
  smppMessages: Number(process.env.BENCH_SMPP_MESSAGES ?? 20_000),
  smppWindow: Number(process.env.BENCH_SMPP_WINDOW ?? 100),
  smppCap: Number(process.env.BENCH_SMPP_CAP ?? 5_000),
  smppCapCheck: Number(process.env.BENCH_SMPP_CAP_CHECK ?? 500),
  smppCapCheckMessages: 2_500,
  smppChannelMessages: Number(process.env.BENCH_SMPP_CHANNEL_MESSAGES ?? 20_000),
  smppChannelSenders: Number(process.env.BENCH_SMPP_CHANNEL_SENDERS ?? 100),
  smppChannelPool: Number(process.env.BENCH_SMPP_CHANNEL_POOL ?? 20),
  databaseUrl: redactUrl(databaseUrl),
  devices: Number(process.env.BENCH_DEVICES ?? 1_000),
  deviceRounds: Number(process.env.BENCH_DEVICE_ROUNDS ?? 5),
  deviceProcesses: Number(process.env.BENCH_DEVICE_PROCESSES ?? 2),
  deviceSendsPerMinute: 6_000,
  deviceRate: Number(process.env.BENCH_DEVICE_RATE ?? 500),
  deviceRateSeconds: Number(process.env.BENCH_DEVICE_RATE_SECONDS ?? 10),
  deviceRateTickMs: 10,
  connectConcurrency: 25,
};
const targets = { smppMessagesPerSecond: 1_000, gatewayRssMb: 200, commandP99Ms: 100 };

const log = (line) => process.stderr.write(`[bench:channels] ${line}\n`);
const silent = pino({ level: 'silent' });

// Every child is killed when this process ends, however it ends.
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

// What must be undone before exiting (the throwaway database), newest first; run by `shutdown`.
const cleanups = new Set();
let shuttingDown = false;
async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  setTimeout(() => process.exit(code), 10_000).unref();
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await Promise.race([cleanup(), sleep(4_000).then(() => Promise.reject(new Error('timed out after 4 s')))]);
    } catch (error) {
      log(`cleanup failed: ${error?.message ?? String(error)}`);
    }
  }
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void shutdown(130);
  });
}

function startChild(script, execArgv = []) {
  const child = fork(path.join(__dirname, script), [], { cwd: root, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (!child.stopping) {
      log(`${script} exited unexpectedly (${signal ?? code})`);
      void shutdown(1);
    }
  });
  return child;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stopping = true;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

function waitMessage(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no ${type} from the child within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
  });
}

function ask(child, message, answer, timeoutMs = 30_000) {
  const answered = waitMessage(child, answer, timeoutMs);
  child.send(message);
  return answered;
}

async function waitFor(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(5);
  }
}

function openFilesLimit() {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return NaN;
  }
}

// ---- 1. SMPP ------------------------------------------------------------------------------------

async function smppRun(port, { messages, window, cap }) {
  const bind = new SmppBind({ host: '127.0.0.1', port, systemId: 'bench', password: 'secret', windowSize: window, throughputPerSecond: cap, logger: silent });
  const receiptAt = new Map();
  bind.on('receipt', (receipt, ack) => {
    if (!receiptAt.has(receipt.messageId)) receiptAt.set(receipt.messageId, performance.now());
    ack();
  });
  await bind.start();
  const submittedAt = new Float64Array(messages);
  const respAt = new Float64Array(messages);
  const ids = new Array(messages);
  let next = 0;
  let failed = 0;
  let peakQueued = 0;
  let peakInFlight = 0;
  const started = performance.now();
  // One lane per window slot: a lane submits its next message when the previous one's resp is in.
  const lane = async () => {
    while (next < messages) {
      const i = next++;
      submittedAt[i] = performance.now();
      try {
        const submitted = bind.submit({ source: '14155550100', destination: `1415556${String(i % 10_000).padStart(4, '0')}`, body: `bench message ${i}` });
        peakInFlight = Math.max(peakInFlight, bind.outstanding);
        ids[i] = (await submitted).messageIds[0];
      } catch {
        failed += 1;
      }
      respAt[i] = performance.now();
      peakQueued = Math.max(peakQueued, bind.queued);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, messages) }, lane));
  const lastResp = Math.max(...respAt);
  const expected = messages - failed;
  await waitFor(() => receiptAt.size >= expected, 60_000, `receipts (${receiptAt.size} of ${expected})`);
  const lastReceipt = Math.max(...receiptAt.values());
  await bind.close();
  const respLatency = [];
  const receiptLatency = [];
  for (let i = 0; i < messages; i++) {
    respLatency.push(respAt[i] - submittedAt[i]);
    const at = ids[i] === undefined ? undefined : receiptAt.get(ids[i]);
    if (at !== undefined) receiptLatency.push(at - submittedAt[i]);
  }
  return {
    messages,
    window,
    capPerSecond: cap,
    failed,
    receipts: receiptAt.size,
    submitSeconds: round((lastResp - started) / 1000, 2),
    submittedPerSecond: round(messages / ((lastResp - started) / 1000), 0),
    receiptedPerSecond: round(receiptAt.size / ((lastReceipt - started) / 1000), 0),
    submitToResp: summary(respLatency),
    submitToReceipt: summary(receiptLatency),
    peakInFlight,
    peakBindQueue: peakQueued,
  };
}

async function benchSmpp(smsc, port) {
  log(`smpp: ${settings.smppMessages} messages, window ${settings.smppWindow}, cap ${settings.smppCap}/s`);
  const main = await smppRun(port, { messages: settings.smppMessages, window: settings.smppWindow, cap: settings.smppCap });
  log(`smpp: cap check, ${settings.smppCapCheckMessages} messages at ${settings.smppCapCheck}/s`);
  const capped = await smppRun(port, { messages: settings.smppCapCheckMessages, window: settings.smppWindow, cap: settings.smppCapCheck });
  const smscStats = await ask(smsc, { type: 'stats' }, 'stats');
  return { main, capCheck: capped, smsc: { submits: smscStats.submits, receiptsSent: smscStats.deliveries, binds: smscStats.binds, peakOutstanding: smscStats.peakOutstanding } };
}

// ---- 2. SMPP channel ----------------------------------------------------------------------------

/** Drops the database named in `url` (connecting to `postgres`), closing its sessions first. */
async function dropDatabase(url) {
  const admin = new URL(url);
  const name = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`);
  } finally {
    await client.end();
  }
}

/**
 * A throwaway, migrated database on DATABASE_URL's server. Dropped by `drop()`, or by `shutdown`
 * when the bench fails or is interrupted before that.
 */
async function createBenchDatabase() {
  const url = new URL(databaseUrl);
  url.pathname = `/reach_bench_channels_${randomBytes(5).toString('hex')}`;
  const benchUrl = url.toString();
  const name = url.pathname.slice(1);
  const dropIt = async () => {
    await dropDatabase(benchUrl);
    log(`smpp channel: database ${name} dropped`);
  };
  cleanups.add(dropIt); // a signal or a failure from here on drops it (with force: open sessions are ended)
  try {
    await ensureDatabaseExists(benchUrl);
  } catch (error) {
    cleanups.delete(dropIt);
    await dropDatabase(benchUrl).catch(() => undefined); // in case it was created after all
    throw new Error(`could not create a database on PostgreSQL at ${redactUrl(databaseUrl)} (${error?.message ?? String(error)}); start PostgreSQL or point DATABASE_URL at one`, { cause: error });
  }
  const handle = openDatabase(benchUrl, { max: settings.smppChannelPool, application_name: 'reach-bench-channels' });
  await migrateToLatest(handle.db);
  return {
    name,
    handle,
    async drop() {
      await handle.close();
      cleanups.delete(dropIt);
      await dropIt();
    },
  };
}

function maxOf(values) {
  let max = -Infinity;
  for (const value of values) if (value > max) max = value;
  return max;
}

/** The value of each label `label` of a counter in `registry`, as an object (label value → count). */
async function countsBy(registry, metric, label) {
  const found = registry.getSingleMetric(metric);
  if (!found) return {};
  const { values } = await found.get();
  const counts = {};
  for (const value of values) counts[value.labels[label]] = (counts[value.labels[label]] ?? 0) + value.value;
  return counts;
}

async function benchSmppChannel(smsc, port) {
  const messages = settings.smppChannelMessages;
  const window = settings.smppWindow;
  // Like the channel's own isReady: no more than two windows handed over and not yet sent.
  const maxOutstanding = 2 * window;
  const database = await createBenchDatabase();
  log(`smpp channel: database ${database.name} migrated; ${messages} messages from ${settings.smppChannelSenders} senders, window ${window}, cap ${settings.smppCap}/s, pool ${settings.smppChannelPool}`);
  const { db, pool } = database.handle;
  const smscBefore = await ask(smsc, { type: 'stats' }, 'stats');
  const account = randomUUID();
  const connector = {
    id: randomUUID(),
    accountId: null,
    name: 'bench-smsc',
    host: '127.0.0.1',
    port,
    systemId: 'bench',
    password: 'secret',
    systemType: '',
    bindMode: 'transceiver',
    source: { ton: 1, npi: 1 },
    destination: { ton: 1, npi: 1 },
    throughputPerSecond: settings.smppCap,
    windowSize: window,
  };
  // smpp_submissions rows reference their connector: its row, as `reachctl connector add` writes it (the loader below hands the password over in clear).
  await db
    .insertInto('smpp_connectors')
    .values({ id: connector.id, name: connector.name, host: connector.host, port, system_id: connector.systemId, password_sealed: Buffer.from('not read by the bench'), throughput_per_second: connector.throughputPerSecond, window_size: window })
    .execute();
  const senders = Array.from({ length: settings.smppChannelSenders }, (_, s) => `+1415550${String(s).padStart(4, '0')}`);
  const routes = senders.map((sender) => ({ accountId: account, sender, connectorId: connector.id }));

  const ids = Array.from({ length: messages }, () => randomUUID());
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const sendAt = new Float64Array(messages);
  const sentAt = new Float64Array(messages); // 0: not reported (yet)
  const deliveredAt = new Float64Array(messages);
  let next = 0;
  let sent = 0;
  let delivered = 0;
  let failed = 0;
  let undelivered = 0;
  let repeatedReports = 0;
  let wakes = 0;
  let notReadyPauses = 0;
  let outstandingPauses = 0;
  let peakOutstanding = 0;
  let lastProgress = performance.now();
  const failures = new Map();

  const reports = {
    sent(messageId) {
      const i = indexOf.get(messageId);
      if (i === undefined || sentAt[i] !== 0) repeatedReports += 1;
      else {
        sentAt[i] = performance.now();
        sent += 1;
      }
      lastProgress = performance.now();
      schedulePump();
      return Promise.resolve();
    },
    delivered(messageId) {
      const i = indexOf.get(messageId);
      if (i === undefined || deliveredAt[i] !== 0) repeatedReports += 1;
      else {
        deliveredAt[i] = performance.now();
        delivered += 1;
      }
      lastProgress = performance.now();
      return Promise.resolve();
    },
    undelivered() {
      undelivered += 1;
      lastProgress = performance.now();
      return Promise.resolve();
    },
    failed(messageId, errorCode, reason) {
      failed += 1;
      failures.set(`${errorCode} ${reason}`, (failures.get(`${errorCode} ${reason}`) ?? 0) + 1);
      lastProgress = performance.now();
      schedulePump();
      return Promise.resolve();
    },
    received() {
      return Promise.resolve();
    },
  };

  // The pump: hands messages over while the channel takes them; a wake or a report resumes it.
  // Idle until the measurement starts (the channel wakes it as soon as its bind is up).
  let pumping = false;
  let pumpScheduled = false;
  const expiresAt = new Date(Date.now() + 3_600_000);
  function schedulePump() {
    if (!pumping || pumpScheduled || next >= messages) return;
    pumpScheduled = true;
    setImmediate(pump);
  }
  function pump() {
    pumpScheduled = false;
    while (next < messages) {
      const outstanding = next - sent - failed;
      if (outstanding >= maxOutstanding) {
        outstandingPauses += 1;
        return; // a sent (or failed) report resumes
      }
      const i = next;
      const from = senders[i % senders.length];
      if (!channel.isReady(from)) {
        notReadyPauses += 1;
        return; // the channel's wake resumes
      }
      next += 1;
      peakOutstanding = Math.max(peakOutstanding, outstanding + 1);
      sendAt[i] = performance.now();
      channel.send({ messageId: ids[i], accountId: account, from, to: `+1415556${String(i % 10_000).padStart(4, '0')}`, body: `bench message ${i}`, segmentCount: 1, expiresAt });
    }
  }

  const registry = new Registry();
  const channel = new SmppChannel({
    db,
    logger: pino({ level: 'error' }, pino.destination(2)),
    loadConnectors: async () => [connector],
    loadRoutes: async () => routes,
    registry,
  });
  const windowGauge = () => registry.getSingleMetric('reach_smpp_window_outstanding');
  // Every 50 ms: submit_sm in flight on the bind (the channel's own gauge), queries waiting for a pool connection.
  let peakWindowOutstanding = 0;
  const poolWaiting = { samples: 0, sum: 0, peak: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { values } = await windowGauge().get();
      for (const value of values) peakWindowOutstanding = Math.max(peakWindowOutstanding, value.value);
      if (pumping) {
        poolWaiting.samples += 1;
        poolWaiting.sum += pool.waitingCount;
        poolWaiting.peak = Math.max(poolWaiting.peak, pool.waitingCount);
      }
      await sleep(50);
    }
  })().catch((error) => log(`smpp channel: window sampling failed: ${error?.message ?? String(error)}`));

  let stopped = false;
  const stopChannel = async () => {
    if (stopped) return;
    stopped = true;
    await channel.stop();
  };
  cleanups.add(stopChannel);
  try {
    const bindStarted = performance.now();
    await channel.start({
      reports,
      wake: () => {
        wakes += 1;
        lastProgress = performance.now();
        schedulePump();
      },
    });
    await waitFor(() => channel.isReady(senders[0]), 10_000, 'the channel binding to the simulator');
    const bindUpMs = performance.now() - bindStarted;
    const wakesAtStart = wakes;

    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    lastProgress = started;
    pumping = true;
    schedulePump();
    const progressing = async (condition, what) => {
      while (!condition()) {
        if (performance.now() - lastProgress > 15_000) throw new Error(`${what}: no progress for 15 s (${next} handed over, ${sent} sent, ${delivered} delivered, ${failed} failed)`);
        await sleep(5);
      }
    };
    await progressing(() => sent + failed >= messages, 'sending');
    const lastSent = maxOf(sentAt);
    await progressing(() => delivered + undelivered >= sent, 'receipts');
    const lastDelivered = maxOf(deliveredAt);
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = (Math.max(lastSent, lastDelivered) - started) / 1000;

    pumping = false;
    sampling = false;
    await sampler;
    const submits = await countsBy(registry, 'reach_smpp_submits_total', 'outcome');
    const receipts = await countsBy(registry, 'reach_smpp_receipts_total', 'outcome');
    const smscAfter = await ask(smsc, { type: 'stats' }, 'stats');
    await stopChannel();
    const { rows } = await pool.query('select count(*)::int as parts, count(outcome)::int as receipted, count(*) filter (where outcome = $1)::int as delivered from smpp_submissions', ['delivered']);

    const toSent = [];
    const toDelivered = [];
    for (let i = 0; i < messages; i++) {
      if (sentAt[i] !== 0) toSent.push(sentAt[i] - sendAt[i]);
      if (deliveredAt[i] !== 0) toDelivered.push(deliveredAt[i] - sendAt[i]);
    }
    return {
      messages,
      senders: senders.length,
      window,
      capPerSecond: settings.smppCap,
      maxHandedOverNotSent: maxOutstanding,
      databasePool: settings.smppChannelPool,
      database: database.name,
      reportsResolveAtOnce: true,
      bindUpMs: round(bindUpMs, 0),
      sent,
      delivered,
      failed,
      failures: Object.fromEntries(failures),
      undelivered,
      repeatedReports,
      sendSeconds: round((lastSent - started) / 1000, 2),
      sentPerSecond: round(sent / ((lastSent - started) / 1000), 0),
      deliveredPerSecond: round(delivered / ((lastDelivered - started) / 1000), 0),
      sendToSent: summary(toSent),
      sendToDelivered: summary(toDelivered),
      peakHandedOverNotSent: peakOutstanding,
      peakWindowOutstanding,
      poolWaiting: { mean: round(poolWaiting.sum / poolWaiting.samples, 1), peak: poolWaiting.peak },
      pump: { notReadyPauses, outstandingPauses, wakes: wakes - wakesAtStart },
      channelMetrics: { submits, receipts },
      smppSubmissions: rows[0],
      benchProcessCpuPercent: round((100 * (cpu.user + cpu.system)) / 1e6 / seconds, 0),
      smsc: { submits: smscAfter.submits - smscBefore.submits, receiptsSent: smscAfter.deliveries - smscBefore.deliveries, binds: smscAfter.binds - smscBefore.binds },
    };
  } finally {
    sampling = false;
    await stopChannel();
    cleanups.delete(stopChannel);
    await database.drop();
  }
}

// ---- 3. Devices ---------------------------------------------------------------------------------

async function benchDevices() {
  const gateway = startChild('bench-channels-gateway.cjs', ['--expose-gc']);
  const fleets = Array.from({ length: settings.deviceProcesses }, () => startChild('bench-channels-devices.cjs'));
  try {
    const started = await ask(gateway, { type: 'start', devices: settings.devices, sendsPerMinute: settings.deviceSendsPerMinute }, 'listening');
    const url = `ws://127.0.0.1:${started.port}/v1/device`;
    const shares = fleets.map((_, f) => {
      const from = Math.floor((f * settings.devices) / fleets.length);
      return { from, to: Math.floor(((f + 1) * settings.devices) / fleets.length) };
    });

    log(`devices: connecting ${settings.devices} simulators in ${fleets.length} processes (${settings.connectConcurrency} at a time each)`);
    const connectStarted = performance.now();
    const connected = await Promise.all(
      fleets.map((fleet, f) =>
        ask(fleet, { type: 'connect', url, ...shares[f], sendsPerMinute: settings.deviceSendsPerMinute, concurrency: settings.connectConcurrency }, 'connected', 60_000),
      ),
    );
    const failedFleet = connected.find((answer) => answer.error);
    if (failedFleet) throw new Error(`simulators could not connect: ${failedFleet.error}`);
    const connectMs = performance.now() - connectStarted;
    const online = await ask(gateway, { type: 'stats' }, 'stats');
    if (online.online !== settings.devices) throw new Error(`only ${online.online} of ${settings.devices} devices online`);
    log(`devices: all ${settings.devices} online in ${round(connectMs, 0)} ms; gateway RSS ${online.memory.rssMb} MB`);

    // Round 0 warms every process up (first use of each code path, JIT); reported, not counted.
    const rounds = [];
    const measured = [];
    const gatewayQueued = [];
    let simulatorLoopDelay = { p99Ms: 0, maxMs: 0 };
    for (let r = 0; r <= settings.deviceRounds; r++) {
      await Promise.all(fleets.map((fleet, f) => ask(fleet, { type: 'expect', count: shares[f].to - shares[f].from }, 'expecting')));
      const done = Promise.all(fleets.map((fleet) => waitMessage(fleet, 'round-done', 30_000)));
      const sent = await ask(gateway, { type: 'round', round: r, devices: settings.devices }, 'round-sent');
      const answers = await done;
      const these = answers.flatMap((answer) => answer.latencies);
      if (r > 0) {
        measured.push(...these);
        gatewayQueued.push(...sent.queuedMs);
        for (const answer of answers) {
          simulatorLoopDelay = { p99Ms: Math.max(simulatorLoopDelay.p99Ms, answer.loopDelay.p99Ms), maxMs: Math.max(simulatorLoopDelay.maxMs, answer.loopDelay.maxMs) };
        }
      }
      rounds.push({ round: r, sendCommandLoopMs: round(sent.sendMs, 1), ...summary(these) });
      log(`devices: round ${r}${r === 0 ? ' (warm-up)' : ''}: ${JSON.stringify(rounds[rounds.length - 1])}`);
      await sleep(300); // the simulators' accepted/sent/delivered reports of this round flow back meanwhile
    }
    await sleep(500);
    const after = await ask(gateway, { type: 'stats' }, 'stats');
    const steady = settings.deviceRate > 0 && settings.deviceRateSeconds > 0 ? await steadyPhase(gateway, fleets, shares, after) : null;
    return {
      devices: settings.devices,
      simulatorProcesses: fleets.length,
      connectAllMs: round(connectMs, 0),
      commands: measured.length,
      commandToDevice: summary(measured),
      warmUpRound: rounds[0],
      perRound: rounds.slice(1),
      gatewayQueueToWrite: summary(gatewayQueued),
      simulatorLoopDelay: { p99Ms: round(simulatorLoopDelay.p99Ms), maxMs: round(simulatorLoopDelay.maxMs) },
      reportsRecordedByGateway: after.reports,
      gatewayMemory: { beforeDevices: started.memory, allOnline: online.memory, afterCommands: after.memory },
      steady,
    };
  } finally {
    await Promise.all(fleets.map((fleet) => ask(fleet, { type: 'close' }, 'closed', 10_000).catch(() => undefined)));
    await Promise.all([...fleets, gateway].map(stopChild));
  }
}

/**
 * Commands at a steady rate (BENCH_DEVICE_RATE for BENCH_DEVICE_RATE_SECONDS), issued by the
 * gateway process's timer, devices in turn; `before`: the gateway's stats just before.
 */
async function steadyPhase(gateway, fleets, shares, before) {
  const { deviceRate: rate, deviceRateSeconds: seconds, deviceRateTickMs: tickMs, devices } = settings;
  const total = Math.round(rate * seconds);
  // Command k goes to device k mod devices: how many land on each process's share.
  const counts = shares.map(({ from, to }) => {
    let count = 0;
    for (let k = 0; k < total; k++) if (k % devices >= from && k % devices < to) count += 1;
    return count;
  });
  const busy = fleets.filter((_, f) => counts[f] > 0);
  const timeoutMs = seconds * 1000 + 30_000;
  log(`devices: steady ${rate}/s for ${seconds} s (${total} commands, ${(rate * tickMs) / 1000} every ${tickMs} ms, devices in turn)`);
  await Promise.all(fleets.map((fleet, f) => (counts[f] > 0 ? ask(fleet, { type: 'expect', count: counts[f] }, 'expecting') : undefined)));
  const done = Promise.all(busy.map((fleet) => waitMessage(fleet, 'round-done', timeoutMs)));
  const sent = await ask(gateway, { type: 'steady', rate, seconds, devices, tickMs }, 'steady-sent', timeoutMs);
  const answers = await done;
  await sleep(500); // the last commands' reports flow back
  const after = await ask(gateway, { type: 'stats' }, 'stats');
  const latencies = answers.flatMap((answer) => answer.latencies);
  const commandToDevice = summary(latencies);
  const result = {
    ratePerSecond: rate,
    seconds,
    tickMs,
    commands: latencies.length,
    issuedPerSecond: round(sent.issued / sent.seconds, 0),
    issueSeconds: round(sent.seconds, 2),
    commandsPerDevice: round(total / devices, 2),
    commandToDevice,
    meetsP99Target: commandToDevice.p99Ms <= targets.commandP99Ms,
    gatewayQueueToWrite: summary(sent.queuedMs),
    gatewayTimer: { ticks: sent.ticks, largestTick: sent.largestTick, maxTickGapMs: round(sent.maxTickGapMs) },
    gatewayLoopDelay: { p99Ms: round(sent.loopDelay.p99Ms), maxMs: round(sent.loopDelay.maxMs) },
    simulatorLoopDelay: { p99Ms: round(maxOf(answers.map((a) => a.loopDelay.p99Ms))), maxMs: round(maxOf(answers.map((a) => a.loopDelay.maxMs))) },
    reportsRecordedByGateway: after.reports - before.reports,
    gatewayMemoryAfter: after.memory,
  };
  log(`devices: steady ${rate}/s: ${JSON.stringify({ issuedPerSecond: result.issuedPerSecond, ...result.commandToDevice, gatewayRssMb: after.memory.rssMb })}`);
  return result;
}

// ---- report -------------------------------------------------------------------------------------

function verdict(ok) {
  return ok ? 'meets target' : 'MISSES target';
}

function printSmpp(smpp) {
  const { main, capCheck } = smpp;
  const ok = main.submittedPerSecond >= targets.smppMessagesPerSecond && main.receiptedPerSecond >= targets.smppMessagesPerSecond;
  process.stdout.write(
    [
      '',
      '== SMPP: one bind, window 100, SMSC simulator in its own process ==',
      `  ${main.messages} single-part messages, cap ${main.capPerSecond}/s (${main.submittedPerSecond < 0.9 * main.capPerSecond ? 'not reached: the window and the CPU set the pace' : 'reached: the cap sets the pace'}), ${main.failed} failed, peak ${main.peakInFlight} submit_sm in flight`,
      `  submitted ${main.submittedPerSecond}/s (submit_sm_resp), receipted ${main.receiptedPerSecond}/s (final DLRs back)   [target >= ${targets.smppMessagesPerSecond}/s: ${verdict(ok)}]`,
      `  submit -> resp     p50 ${main.submitToResp.p50Ms} ms  p99 ${main.submitToResp.p99Ms} ms  max ${main.submitToResp.maxMs} ms`,
      `  submit -> receipt  p50 ${main.submitToReceipt.p50Ms} ms  p99 ${main.submitToReceipt.p99Ms} ms  max ${main.submitToReceipt.maxMs} ms`,
      `  cap check: ${capCheck.messages} messages with the cap at ${capCheck.capPerSecond}/s -> ${capCheck.submittedPerSecond}/s submitted (the token bucket, not the window, sets the pace; submit -> resp p99 ${capCheck.submitToResp.p99Ms} ms includes the wait for a token)`,
      `  SMSC: ${smpp.smsc.submits} submits, ${smpp.smsc.receiptsSent} receipts sent, peak ${smpp.smsc.peakOutstanding} outstanding on a session`,
      '',
    ].join('\n'),
  );
}

function printSmppChannel(channel) {
  const ok = channel.sentPerSecond >= targets.smppMessagesPerSecond && channel.deliveredPerSecond >= targets.smppMessagesPerSecond;
  const counts = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const failures = Object.entries(channel.failures).map(([k, v]) => `${v} x ${k}`).join('; ');
  process.stdout.write(
    [
      `== SMPP channel: the dispatcher's SmppChannel, one connector (window ${channel.window}), smpp_submissions in Postgres, the same SMSC simulator ==`,
      `  ${channel.messages} single-part messages from ${channel.senders} senders, cap ${channel.capPerSecond}/s; handed over as the dispatcher's pump does (isReady / wake, at most ${channel.maxHandedOverNotSent} handed over and not yet sent; peak ${channel.peakHandedOverNotSent}); bound in ${channel.bindUpMs} ms`,
      `  reports.sent / delivered resolve at once: no event store here (the dispatcher appends an event per report before the channel goes on), so these are the channel's SMPP + Postgres figures only`,
      `  sent ${channel.sentPerSecond}/s (reports.sent), delivered ${channel.deliveredPerSecond}/s (reports.delivered)   [target >= ${targets.smppMessagesPerSecond}/s: ${verdict(ok)}]`,
      `  ${channel.sent} sent, ${channel.delivered} delivered, ${channel.undelivered} undelivered, ${channel.failed} failed${failures ? ` (${failures})` : ''}, ${channel.repeatedReports} repeated reports`,
      `  send -> sent       p50 ${channel.sendToSent.p50Ms} ms  p99 ${channel.sendToSent.p99Ms} ms  max ${channel.sendToSent.maxMs} ms   (parts lookup, window, submit_sm_resp, smpp_submissions insert)`,
      `  send -> delivered  p50 ${channel.sendToDelivered.p50Ms} ms  p99 ${channel.sendToDelivered.p99Ms} ms  max ${channel.sendToDelivered.maxMs} ms   (+ receipt lookup, outcome update, parts read back)`,
      `  channel metrics: submits ${counts(channel.channelMetrics.submits)}; receipts ${counts(channel.channelMetrics.receipts)} (unknown: answered "try later", sent again by the SMSC); peak window outstanding ${channel.peakWindowOutstanding} (sampled); queries waiting for one of the ${channel.databasePool} pool connections: mean ${channel.poolWaiting.mean}, peak ${channel.poolWaiting.peak} (sampled)`,
      `  pump: isReady said no ${channel.pump.notReadyPauses} times, ${channel.pump.wakes} wakes; paused ${channel.pump.outstandingPauses} times at ${channel.maxHandedOverNotSent} not yet sent`,
      `  Postgres: database ${channel.database} (dropped): ${channel.smppSubmissions.parts} smpp_submissions rows, ${channel.smppSubmissions.receipted} with their receipt (${channel.smppSubmissions.delivered} delivered); this process (channel + driver) used ${channel.benchProcessCpuPercent}% of a core`,
      `  SMSC: ${channel.smsc.submits} submits, ${channel.smsc.receiptsSent} receipts sent (repeats included), ${channel.smsc.binds} bind`,
      '',
    ].join('\n'),
  );
}

function printDevices(devices) {
  const memory = devices.gatewayMemory;
  const rssOk = memory.allOnline.rssMb <= targets.gatewayRssMb && memory.afterCommands.rssMb <= targets.gatewayRssMb;
  const p99Ok = devices.commandToDevice.p99Ms <= targets.commandP99Ms;
  const burst = `burst of ${devices.devices.toLocaleString('en-US')}`;
  const steady = devices.steady;
  const steadyLabel = steady ? `steady ${steady.ratePerSecond}/s` : 'steady';
  const steadyLines = steady
    ? [
        `  ${steadyLabel}: ${steady.commands} commands over ${steady.seconds} s (${(steady.ratePerSecond * steady.tickMs) / 1000} every ${steady.tickMs} ms, devices in turn: ${steady.commandsPerDevice} per device; issued at ${steady.issuedPerSecond}/s)`,
        `  ${steadyLabel}: command -> device p50 ${steady.commandToDevice.p50Ms} ms  p99 ${steady.commandToDevice.p99Ms} ms  max ${steady.commandToDevice.maxMs} ms   [target p99 <= ${targets.commandP99Ms} ms: ${verdict(steady.meetsP99Target)}]`,
        `  ${steadyLabel}: gateway RSS after it ${steady.gatewayMemoryAfter.rssMb} MB (heap used ${steady.gatewayMemoryAfter.heapUsedMb} MB)   [target <= ${targets.gatewayRssMb} MB: ${verdict(steady.gatewayMemoryAfter.rssMb <= targets.gatewayRssMb)}]`,
        `  ${steadyLabel}: gateway sendCommand -> frame written p99 ${steady.gatewayQueueToWrite.p99Ms} ms; gateway event-loop delay p99 ${steady.gatewayLoopDelay.p99Ms} ms  max ${steady.gatewayLoopDelay.maxMs} ms (timer: largest tick ${steady.gatewayTimer.largestTick} commands, longest gap ${steady.gatewayTimer.maxTickGapMs} ms); simulator processes' event-loop delay p99 ${steady.simulatorLoopDelay.p99Ms} ms  max ${steady.simulatorLoopDelay.maxMs} ms; ${steady.reportsRecordedByGateway} reports recorded`,
      ]
    : ['  steady rate: skipped (BENCH_DEVICE_RATE=0)'];
  process.stdout.write(
    [
      '== Devices: DeviceGatewayServer in its own process, the simulators in others ==',
      `  ${devices.devices} devices online in ${devices.connectAllMs} ms`,
      `  gateway RSS: ${memory.beforeDevices.rssMb} MB before, ${memory.allOnline.rssMb} MB with all online, ${memory.afterCommands.rssMb} MB after the burst rounds   [target <= ${targets.gatewayRssMb} MB: ${verdict(rssOk)}]`,
      `  gateway heap used: ${memory.beforeDevices.heapUsedMb} -> ${memory.allOnline.heapUsedMb} -> ${memory.afterCommands.heapUsedMb} MB`,
      `  ${burst}: ${devices.commands} commands (${devices.perRound.length} rounds x ${devices.devices}, each round issued in one synchronous loop); command -> device p50 ${devices.commandToDevice.p50Ms} ms  p99 ${devices.commandToDevice.p99Ms} ms  max ${devices.commandToDevice.maxMs} ms   [target p99 <= ${targets.commandP99Ms} ms: ${verdict(p99Ok)}]`,
      `  ${burst}: per round p99: ${devices.perRound.map((r) => `${r.p99Ms} ms`).join(', ')} (warm-up round, not counted: p50 ${devices.warmUpRound.p50Ms} ms  p99 ${devices.warmUpRound.p99Ms} ms)`,
      `  ${burst}: gateway: sendCommand -> frame written p99 ${devices.gatewayQueueToWrite.p99Ms} ms; ${devices.devices} sendCommand calls take ${devices.perRound.map((r) => r.sendCommandLoopMs).join(' / ')} ms per round`,
      `  ${burst}: simulator processes' own event-loop delay (${devices.simulatorProcesses} processes sharing ${devices.devices} simulators; part of every figure above): p99 ${devices.simulatorLoopDelay.p99Ms} ms  max ${devices.simulatorLoopDelay.maxMs} ms (worst round)`,
      `  ${burst}: reports recorded by the gateway meanwhile: ${devices.reportsRecordedByGateway} (accepted/sent/delivered)`,
      ...steadyLines,
      '',
    ].join('\n'),
  );
}

async function main() {
  const openFiles = openFilesLimit();
  // The gateway process holds one socket per device (the simulators' ends are split over their processes).
  const needed = settings.devices + 200;
  // Other work on the machine shows up in every latency figure: the load is part of the report.
  const report = { settings, targets, machine: { cpus: os.cpus().length, node: process.version, openFilesLimit: openFiles, loadAverageAtStart: os.loadavg().map((n) => round(n, 2)) } };
  if (Number.isFinite(openFiles) && openFiles < needed) {
    log(`ulimit -n is ${openFiles}: the device gateway needs about ${needed} open files for ${settings.devices} devices. Raise it (ulimit -n ${needed * 2}) or lower BENCH_DEVICES.`);
    process.exit(1);
  }
  const began = performance.now();
  const smsc = startChild('bench-channels-smsc.cjs');
  try {
    const { port } = await ask(smsc, { type: 'start', systemId: 'bench', password: 'secret' }, 'listening');
    report.smpp = await benchSmpp(smsc, port);
    printSmpp(report.smpp);
    report.smppChannel = await benchSmppChannel(smsc, port);
    printSmppChannel(report.smppChannel);
  } finally {
    await stopChild(smsc);
  }
  report.devices = await benchDevices();
  printDevices(report.devices);
  report.seconds = round((performance.now() - began) / 1000, 1);
  report.machine.loadAverageAtEnd = os.loadavg().map((n) => round(n, 2));
  process.stdout.write(`== machine: ${report.machine.cpus} CPUs, load average ${report.machine.loadAverageAtStart[0]} at start, ${report.machine.loadAverageAtEnd[0]} at end (1 min); ${report.seconds} s ==\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`failed: ${error?.stack ?? String(error)}`);
    void shutdown(1);
  },
);
