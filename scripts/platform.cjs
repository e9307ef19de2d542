'use strict';
/**
 * `npm start`: the whole platform on one machine. Makes sure PostgreSQL and NATS answer
 * (starting local ones when nothing does), starts every service as its own process, waits for
 * all of them to be ready, and on Ctrl-C / SIGTERM stops them gracefully, then what it started.
 */
const { ensureNats, ensurePostgres } = require('./local-infrastructure.cjs');
const { startPlatform } = require('./platform-launcher.cjs');

const log = (line) => process.stderr.write(`[reach] ${line}\n`);

async function main() {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/reach';
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const started = [];
  let platform = null;
  let shuttingDown = false;

  const shutdown = async (code) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log('stopping services…');
    if (platform) await platform.stop();
    for (const dependency of started.reverse()) {
      log(`stopping ${dependency.name}`);
      await dependency.stop();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const pg = await ensurePostgres(databaseUrl, log);
    if (pg) started.push(pg);
    const nats = await ensureNats(natsUrl, log);
    if (nats) started.push(nats);
    log('starting projector, dispatcher, scheduler, callbacks, api-gateway…');
    platform = await startPlatform({
      env: { DATABASE_URL: databaseUrl, NATS_URL: natsUrl },
      onExit: (name, code) => {
        log(`${name} exited unexpectedly (code ${code}); stopping the platform`);
        void shutdown(1);
      },
    });
    log(`Reach is ready: ${platform.gatewayUrl}  (create an account: npx reachctl account create --name "My company" --json)`);
  } catch (error) {
    log(`could not start: ${error?.message ?? String(error)}`);
    await shutdown(1);
  }
}

void main();
