'use strict';
/**
 * The benchmark's baseline: a bare HTTP endpoint doing one durable INSERT per request into the
 * same PostgreSQL — the floor any API that persists each request before answering pays.
 */
const http = require('node:http');
const { randomUUID } = require('node:crypto');
const { Pool } = require('pg');

const port = Number(process.env.PORT);
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 20) });

async function main() {
  await pool.query('create table if not exists bench_baseline (id uuid primary key, body jsonb not null, created_at timestamptz not null default now())');
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
        const id = randomUUID();
        await pool.query('insert into bench_baseline (id, body) values ($1, $2)', [id, body]);
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: true, data: { message_id: id } }));
      } catch (error) {
        res.writeHead(500);
        res.end(String(error));
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => process.send?.('ready'));
  process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
