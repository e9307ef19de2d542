'use strict';
/**
 * `npm run bench:scheduler`: the scheduler under a large backlog, in its own database
 * (reach_bench_sched_<random>), NATS namespace and ports; everything is removed at the end.
 *
 *   0. Backlog: BENCH_SCHED_PENDING scheduled messages due between 1 h and 5 days from now, as
 *      timer rows (a release and an expiry each) written straight into scheduler_timers with
 *      generate_series. Their event streams are not written: the scheduler never reads a stream
 *      before its timer falls due, so they would only take time to generate.
 *   1. Cold start: `node services/scheduler/dist/main.js` with that backlog; time to /ready, RSS.
 *   2. Burst, one replica: BENCH_SCHED_BURST messages with full event streams (AcceptMessage through
 *      the decider, appended to the store in concurrent batches), relayed to JetStream as the relay
 *      would, recorded by the scheduler's consumer (ingest rate), all due within the same second.
 *      Release lateness = MessageQueued's queuedAt (the command's `now`) − scheduledFor, p50/p99/max;
 *      also when the MessageQueued was committed (events.created_at) − scheduledFor.
 *   3. Burst, two replicas on the same database and namespace: lateness again, and double releases
 *      (streams with more than one MessageQueued — must be 0).
 *   4. Restart: both replicas stopped (SIGTERM), BENCH_SCHED_OVERDUE messages fall due while none
 *      runs, one replica started: time to /ready, to the first release and to the last one.
 * Prints a JSON report on stdout. A script to run and quote, not a test: figures depend on the machine.
 */
const { spawn } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Pool } = require('pg');
const pino = require('pino');
const { ensureNats, ensurePostgres } = require('./local-infrastructure.cjs');

const root = path.resolve(__dirname, '..');
const { natsNames } = require(path.join(root, 'libs/contracts/dist'));
const { ensureDatabaseExists, migrateToLatest, openDatabase } = require(path.join(root, 'libs/database/dist'));
const { PostgresEventStore, START, comparePositions, formatPosition } = require(path.join(root, 'libs/event-store/dist'));
const { executeMessageCommand } = require(path.join(root, 'libs/infrastructure/dist'));
const { connectNats, deleteTopology, drainNats, ensureTopology, publishEvents } = require(path.join(root, 'libs/messaging/dist'));

const settings = {
  pending: Number(process.env.BENCH_SCHED_PENDING ?? 1_000_000),
  burst: Number(process.env.BENCH_SCHED_BURST ?? 10_000),
  overdue: Number(process.env.BENCH_SCHED_OVERDUE ?? 1_000),
  /** Seconds from the start of a burst's generation to the second its messages fall due. */
  leadSeconds: Number(process.env.BENCH_SCHED_LEAD_SECONDS ?? 25),
  basePort: Number(process.env.BENCH_SCHED_BASE_PORT ?? 4702),
};
const log = (line) => process.stderr.write(`[bench:scheduler] ${line}\n`);
const { round, sleep, summary } = require('./bench-stats.cjs');

/** kB figures from /proc/<pid>/status (Linux): resident now and its peak. */
function memoryOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: round(kb('VmRSS') / 1024), peakRssMb: round(kb('VmHWM') / 1024) };
  } catch {
    return { rssMb: null, peakRssMb: null };
  }
}

/** Jiffies the whole machine spent busy and in total (Linux /proc/stat). */
function machineTicks() {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSecondsOf(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks at USER_HZ = 100
  } catch {
    return NaN;
  }
}

class Replica {
  constructor(name, port, env) {
    this.name = name;
    this.port = port;
    this.env = env;
    this.maxRssMb = 0;
  }

  /** Spawns the process and resolves with the milliseconds it took to answer /ready. */
  async start() {
    this.startedAt = Date.now();
    this.child = spawn(process.execPath, [path.join(root, 'services/scheduler/dist/main.js')], {
      cwd: root,
      env: { ...process.env, ...this.env, SCHEDULER_PORT: String(this.port) },
      // Its logs go to our stderr: stdout carries only the report.
      stdio: ['ignore', 2, 2],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.sampler = setInterval(() => {
      const { rssMb } = memoryOf(this.child.pid);
      if (rssMb > this.maxRssMb) this.maxRssMb = rssMb;
    }, 100);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`scheduler ${this.name} exited with ${this.child.exitCode} before it was ready`);
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/ready`);
        if (response.status === 200) return Date.now() - this.startedAt;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`scheduler ${this.name} not ready within 120 s`);
      await sleep(10);
    }
  }

  memory() {
    return { ...memoryOf(this.child.pid), maxSampledRssMb: this.maxRssMb };
  }

  async firedReleases() {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('reach_scheduler_timers_fired_total{kind="release",outcome="applied"}'));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  /** SIGTERM, then the milliseconds the graceful shutdown took. */
  async stop() {
    const began = Date.now();
    this.child.kill('SIGTERM');
    await this.exited;
    clearInterval(this.sampler);
    return Date.now() - began;
  }
}

function acceptCommand(messageId, accountId, scheduledFor, now) {
  return {
    type: 'AcceptMessage',
    data: {
      messageId,
      accountId,
      now: now.toISOString(),
      from: '+14155552671',
      to: '+14155553000',
      body: 'Your appointment is tomorrow at 10:00',
      segments: { encoding: 'GSM-7', count: 1 },
      channel: 'simulated',
      dialect: 'reach',
      bulkId: null,
      statusCallback: null,
      maxPrice: null,
      validityPeriodSeconds: 14_400,
      scheduledFor: scheduledFor.toISOString(),
      billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
    },
  };
}

/** Runs `count` jobs with at most `concurrency` at once. */
async function pooled(count, concurrency, job) {
  let next = 0;
  const worker = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

function toRelayed(e) {
  return {
    eventId: e.eventId,
    type: e.type,
    streamId: e.streamId,
    revision: e.revision.toString(),
    position: formatPosition(e.position),
    data: e.data,
    metadata: { ...e.metadata },
    createdAt: e.createdAt.toISOString(),
  };
}

async function main() {
  const began = Date.now();
  const suffix = randomBytes(3).toString('hex');
  const baseUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/reach');
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const startedDependencies = [];
  const pg = await ensurePostgres(baseUrl.toString(), log);
  if (pg) startedDependencies.push(pg);
  const natsServer = await ensureNats(natsUrl, log);
  if (natsServer) startedDependencies.push(natsServer);

  const dbUrl = new URL(baseUrl);
  dbUrl.pathname = `/reach_bench_sched_${suffix}`;
  const namespace = `benchsched${suffix}`;
  const names = natsNames(namespace);
  const env = { DATABASE_URL: dbUrl.toString(), NATS_URL: natsUrl, REACH_NAMESPACE: namespace, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  const logger = pino({ level: 'warn' });

  await ensureDatabaseExists(dbUrl.toString());
  const migrator = openDatabase(dbUrl.toString(), { max: 1 });
  await migrateToLatest(migrator.db);
  await migrator.close();
  const pool = new Pool({ connectionString: dbUrl.toString(), max: 24 });
  // The final drop terminates connections pool.end() is still closing: not an error here.
  pool.on('error', () => undefined);
  const store = new PostgresEventStore(pool);
  const nc = await connectNats({ url: natsUrl, name: 'bench-scheduler', logger });
  await ensureTopology(nc, names);
  const js = nc.jetstream();
  const replicas = [];
  let logPosition = START;

  const cleanup = async () => {
    for (const replica of replicas) if (replica.child && replica.child.exitCode === null) await replica.stop().catch(() => undefined);
    await deleteTopology(nc, names).catch((error) => log(`could not delete the NATS streams: ${error.message}`));
    await drainNats(nc).catch(() => undefined);
    await store.close();
    await pool.end();
    const adminUrl = new URL(dbUrl);
    adminUrl.pathname = '/postgres';
    const admin = new Pool({ connectionString: adminUrl.toString(), max: 1 });
    await admin.query(`drop database if exists "reach_bench_sched_${suffix}" with (force)`);
    await admin.end();
    for (const dependency of startedDependencies.reverse()) await dependency.stop();
  };

  /** Relays to JetStream every stored event not relayed yet, as the projector's relay would. */
  async function relayNewEvents() {
    let relayed = 0;
    for (;;) {
      const batch = await store.readAll({ after: logPosition, maxCount: 2_000 });
      if (batch.length === 0) return relayed;
      await publishEvents(js, names, batch.map(toRelayed));
      relayed += batch.length;
      logPosition = batch.reduce((max, e) => (comparePositions(e.position, max) > 0 ? e.position : max), logPosition);
    }
  }

  /** `count` scheduled messages with full streams (accepted + scheduled), under one account. */
  async function acceptScheduled(count, accountId, dueAt) {
    const now = new Date();
    await pooled(count, 256, (i) => executeMessageCommand(store, acceptCommand(randomUUID(), accountId, dueAt(i), now)));
  }

  /*
   * The probes below run while the scheduler works, on the same two cores: each reads an index
   * range (due_at, global_position), never the whole table.
   */

  /** Timers (release and expiry) of a burst due within the second starting at `dueSecond`. */
  async function timersOfBurst(dueSecond) {
    const { rows } = await pool.query(
      `select count(*)::int as n from scheduler_timers
        where (due_at >= $1 and due_at < $2) or (due_at >= $3 and due_at < $4)`,
      [new Date(dueSecond), new Date(dueSecond + 1_000), new Date(dueSecond + 14_400_000), new Date(dueSecond + 14_401_000)],
    );
    return rows[0].n;
  }

  async function logHead() {
    const { rows } = await pool.query('select coalesce(max(global_position), 0)::text as p from events');
    return rows[0].p;
  }

  /** MessageQueued events appended after `head`, with the first and last commit times. */
  async function releasedSince(head) {
    const { rows } = await pool.query(
      `select count(*)::int as n, min(created_at) as first, max(created_at) as last from events
        where global_position > $1::bigint and type = 'MessageQueued'`,
      [head],
    );
    return rows[0];
  }

  /** Lateness per released message, and streams released more than once. */
  async function releaseFigures(accountId) {
    const { rows } = await pool.query(
      `select extract(epoch from ((q.data->>'queuedAt')::timestamptz - (s.data->>'scheduledFor')::timestamptz)) * 1000 as stamped_ms,
              extract(milliseconds from (s.data->>'scheduledFor')::timestamptz)::int % 1000 as offset_ms,
              extract(epoch from (q.created_at - (s.data->>'scheduledFor')::timestamptz)) * 1000 as committed_ms
         from events q join events s on s.stream_id = q.stream_id and s.type = 'MessageScheduled'
        where q.type = 'MessageQueued' and q.data->>'accountId' = $1`,
      [accountId],
    );
    const doubles = await pool.query(
      `select count(*)::int as n from (select stream_id from events where type = 'MessageQueued' and data->>'accountId' = $1
         group by stream_id having count(*) > 1) d`,
      [accountId],
    );
    // Lateness by where in its second a message fell due: growing towards the end of the second
    // would mean the scheduler fires slower than timers fall due.
    const byTenth = Array.from({ length: 10 }, (_, tenth) =>
      summary(rows.filter((r) => Math.floor(Number(r.offset_ms) / 100) === tenth).map((r) => Number(r.stamped_ms))).p50Ms,
    );
    return {
      released: rows.length,
      lateness: summary(rows.map((r) => Number(r.stamped_ms))),
      latenessP50ByTenthOfSecondMs: byTenth,
      committedAfterDue: summary(rows.map((r) => Number(r.committed_ms))),
      doubleReleases: doubles.rows[0].n,
    };
  }

  /** One burst: generate, relay, let the scheduler record, wait for the due second, measure. */
  async function burst(label) {
    const accountId = randomUUID();
    const dueSecond = Date.now() + settings.leadSeconds * 1000;
    log(`${label}: ${settings.burst} messages due within the second at ${new Date(dueSecond).toISOString()}`);
    const generation = Date.now();
    await acceptScheduled(settings.burst, accountId, (i) => new Date(dueSecond + Math.floor((i * 1000) / settings.burst)));
    const generatedMs = Date.now() - generation;
    const relayStart = Date.now();
    const relayedEvents = await relayNewEvents();
    const relayMs = Date.now() - relayStart;
    const expectedTimers = settings.burst * 2;
    const head = await logHead();
    for (;;) {
      if ((await timersOfBurst(dueSecond)) >= expectedTimers) break;
      if (Date.now() > dueSecond + 60_000) throw new Error(`${label}: timers not recorded within 60 s of their due time`);
      await sleep(50);
    }
    const recordedMs = Date.now() - relayStart;
    const recordedBeforeDue = Date.now() < dueSecond;
    log(`  generated ${settings.burst} streams in ${generatedMs} ms; relayed ${relayedEvents} events and recorded ${expectedTimers} timers in ${recordedMs} ms`);
    if (!recordedBeforeDue) log('  warning: the timers were recorded after their due time; raise BENCH_SCHED_LEAD_SECONDS');
    // Nothing runs here while the burst falls due. The machine is shared: what else kept its cores
    // busy in the burst's window goes into the report.
    const running = replicas.filter((r) => r.child && r.child.exitCode === null);
    await sleep(Math.max(0, dueSecond - 500 - Date.now()));
    const before = { machine: machineTicks(), replicas: running.map((r) => cpuSecondsOf(r.child.pid)), load: os.loadavg()[0] };
    await sleep(Math.max(0, dueSecond + 2_000 - Date.now()));
    const after = { machine: machineTicks(), replicas: running.map((r) => cpuSecondsOf(r.child.pid)) };
    const windowCpu = {
      windowSeconds: 2.5,
      loadAverage1mBefore: round(before.load, 2),
      machineBusyShare: round((after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total), 2),
      schedulerCpuSeconds: round(after.replicas.reduce((sum, cpu, i) => sum + cpu - before.replicas[i], 0), 2),
    };
    for (;;) {
      if ((await releasedSince(head)).n >= settings.burst) break;
      if (Date.now() > dueSecond + 120_000) break;
      await sleep(250);
    }
    await sleep(1_000); // a double release would have shown up by now
    const figures = await releaseFigures(accountId);
    log(`  released ${figures.released}: lateness p50 ${figures.lateness.p50Ms} ms, p99 ${figures.lateness.p99Ms} ms, max ${figures.lateness.maxMs} ms; double releases ${figures.doubleReleases}`);
    return {
      cpuInDueWindow: windowCpu,
      generateStreamsMs: generatedMs,
      timerIngest: { timers: expectedTimers, ms: recordedMs, perSecond: Math.round(expectedTimers / (recordedMs / 1000)), recordedBeforeDue },
      ...figures,
    };
  }

  /** When (ms after `since`, by commit time) the first and the last of `count` releases after `head` were appended. */
  async function watchReleases(head, count, since) {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const released = await releasedSince(head);
      if (released.n >= count || Date.now() > deadline) {
        return {
          firstMs: released.first ? released.first.getTime() - since : null,
          allMs: released.n >= count ? released.last.getTime() - since : null,
        };
      }
      await sleep(100);
    }
  }

  const report = { machine: { cores: os.cpus().length, node: process.version }, settings, database: dbUrl.pathname.slice(1), namespace };
  try {
    log(`phase 0: ${settings.pending} pending scheduled messages (${settings.pending * 2} timer rows via generate_series)`);
    const backlogStart = Date.now();
    await pool.query(
      `with m as (
         select gen_random_uuid() as id, gen_random_uuid() as account,
                now() + interval '1 hour' + (g % 428400) * interval '1 second' as at
           from generate_series(1, $1::int) g)
       insert into scheduler_timers (message_id, kind, due_at, account_id)
       select m.id, k.kind, case k.kind when 'release' then m.at else m.at + interval '4 hours' end, m.account
         from m cross join (values ('release'), ('expire')) as k(kind)`,
      [settings.pending],
    );
    await pool.query('vacuum analyze scheduler_timers');
    report.backlog = { timerRows: settings.pending * 2, writeMs: Date.now() - backlogStart };
    log(`  written in ${report.backlog.writeMs} ms`);

    log('phase 1: cold start of replica A with the backlog');
    const a = new Replica('A', settings.basePort, env);
    replicas.push(a);
    const coldReadyMs = await a.start();
    await sleep(2_000);
    report.coldStart = { readyMs: coldReadyMs, memoryAfterStart: a.memory() };
    log(`  ready in ${coldReadyMs} ms; ${JSON.stringify(report.coldStart.memoryAfterStart)}`);

    log('phase 2: burst with one replica');
    report.burstOneReplica = await burst('phase 2');
    report.burstOneReplica.memory = a.memory();

    log('phase 3: burst with two replicas on the same database');
    const b = new Replica('B', settings.basePort + 1, env);
    replicas.push(b);
    await b.start();
    const firedBefore = [await a.firedReleases(), await b.firedReleases()];
    report.burstTwoReplicas = await burst('phase 3');
    const firedAfter = [await a.firedReleases(), await b.firedReleases()];
    report.burstTwoReplicas.releasesFiredBy = { A: firedAfter[0] - firedBefore[0], B: firedAfter[1] - firedBefore[1] };
    report.burstTwoReplicas.memory = { A: a.memory(), B: b.memory() };

    log(`phase 4: restart — both replicas stopped, ${settings.overdue} messages fall due meanwhile, one replica started`);
    const stopMs = { A: await a.stop(), B: await b.stop() };
    const overdueAccount = randomUUID();
    const overdueAt = Date.now() + 2_000;
    await acceptScheduled(settings.overdue, overdueAccount, () => new Date(overdueAt));
    await relayNewEvents();
    const head = await logHead();
    await sleep(Math.max(0, overdueAt + 500 - Date.now()));
    const a2 = new Replica('A (restarted)', settings.basePort, env);
    replicas.push(a2);
    const restartReadyMs = await a2.start();
    const releases = await watchReleases(head, settings.overdue, a2.startedAt);
    const restartFigures = await releaseFigures(overdueAccount);
    report.restart = {
      gracefulStopMs: stopMs,
      readyMs: restartReadyMs,
      firstReleaseMs: releases.firstMs,
      allReleasedMs: releases.allMs,
      released: restartFigures.released,
      doubleReleases: restartFigures.doubleReleases,
      memory: a2.memory(),
    };
    log(`  ready in ${restartReadyMs} ms, first release after ${releases.firstMs} ms, all ${settings.overdue} after ${releases.allMs} ms`);
    await a2.stop();

    const { rows } = await pool.query('select count(*)::int as n from scheduler_timers');
    report.pendingTimersAtEnd = rows[0].n;
    const maxRssMb = Math.max(...replicas.map((r) => r.maxRssMb));
    const p99 = Math.max(report.burstOneReplica.lateness.p99Ms, report.burstTwoReplicas.lateness.p99Ms);
    const doubles = report.burstOneReplica.doubleReleases + report.burstTwoReplicas.doubleReleases + report.restart.doubleReleases;
    report.maxSampledRssMb = maxRssMb;
    report.targets = {
      'RSS <= 512 MB': maxRssMb <= 512,
      'release lateness p99 <= 1000 ms': p99 <= 1000,
      'double releases == 0': doubles === 0,
      'every burst message released':
        report.burstOneReplica.released === settings.burst && report.burstTwoReplicas.released === settings.burst && report.restart.released === settings.overdue,
    };
    report.totalSeconds = Math.round((Date.now() - began) / 1000);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
