// Append throughput of the PostgreSQL event store: N concurrent callers, each appending
// 2-event batches to new streams (expected revision no_stream), for a fixed duration.
// Build first (`npx tsc -b libs/event-store`), then:
//   node libs/event-store/bench/append-bench.js [--concurrency 64] [--pool 32] [--seconds 10]
// Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/reach) to create and drop a
// database of its own.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS script run by node against the build */

const { randomBytes, randomUUID } = require('node:crypto');
const { Pool } = require('pg');
const { ensureDatabaseExists, migrateToLatest, openDatabase } = require('@reach/database');
const { PostgresEventStore } = require('../dist');

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] ? Number(process.argv[index + 1]) : fallback;
}

async function main() {
  const concurrency = option('concurrency', 64);
  const poolSize = option('pool', 32);
  const seconds = option('seconds', 10);
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/reach');
  url.pathname = `/reach_bench_${randomBytes(4).toString('hex')}`;

  await ensureDatabaseExists(url.toString());
  const migrator = openDatabase(url.toString(), { max: 1 });
  await migrateToLatest(migrator.db);
  await migrator.close();

  const pool = new Pool({ connectionString: url.toString(), max: poolSize });
  // The database is dropped (with force) at the end; a closing connection may hear about it.
  pool.on('error', () => undefined);
  const store = new PostgresEventStore(pool, { ownsPool: true });
  const latencies = [];
  let appends = 0;
  let deadline = 0;

  async function worker() {
    while (Date.now() < deadline) {
      const streamId = `bench-${randomUUID()}`;
      const events = [
        { eventId: randomUUID(), type: 'MessageAccepted', data: { to: '+15550100', body: 'hello' }, metadata: { correlationId: streamId } },
        { eventId: randomUUID(), type: 'MessageQueued', data: { route: 'device-1' } },
      ];
      const started = process.hrtime.bigint();
      await store.appendToStream(streamId, events, { expectedRevision: 'no_stream' });
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      appends++;
    }
  }

  try {
    // Warm up: connections opened, statements prepared.
    deadline = Date.now() + 1000;
    await Promise.all(Array.from({ length: concurrency }, worker));
    appends = 0;
    latencies.length = 0;

    const started = Date.now();
    deadline = started + seconds * 1000;
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = (Date.now() - started) / 1000;

    latencies.sort((a, b) => a - b);
    const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
    console.log(
      `concurrency ${concurrency}, pool ${poolSize}: ${Math.round(appends / elapsed)} appends/s ` +
        `(${Math.round((2 * appends) / elapsed)} events/s), latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`,
    );
  } finally {
    await store.close();
    const adminUrl = new URL(url);
    adminUrl.pathname = '/postgres';
    const admin = new Pool({ connectionString: adminUrl.toString(), max: 1 });
    await admin.query(`drop database if exists "${url.pathname.slice(1)}" with (force)`);
    await admin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
