'use strict';
/**
 * `npm start`: the whole platform on one machine. Makes sure PostgreSQL and NATS answer
 * (starting local ones when nothing does), starts every service as its own process, waits for
 * all of them to be ready, and on Ctrl-C / SIGTERM stops them gracefully, then what it started.
 */
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { ensureNats, ensurePostgres } = require('./local-infrastructure.cjs');
const { startPlatform } = require('./platform-launcher.cjs');

const root = path.resolve(__dirname, '..');
/** Where the platform secret is kept between runs; reachctl reads the same file by default. */
const SECRET_FILE = path.join(root, '.data', 'api-key-secret');

const log = (line) => process.stderr.write(`[reach] ${line}\n`);

/**
 * The platform secret API keys are derived from (REACH_API_KEY_SECRET): the environment's, else
 * the one kept in .data/api-key-secret, created on the first start (32 random bytes as hex, mode
 * 0600). It must stay the same from run to run: every API key is derived from it, so a new one
 * would invalidate them all. Never printed.
 */
function apiKeySecret() {
  // The one parser every reader of the secret uses (reachctl, the callbacks service): built by npm start.
  const { parseApiKeySecret } = require(path.join(root, 'libs/accounts/dist'));
  const fromEnv = process.env.REACH_API_KEY_SECRET;
  if (fromEnv) {
    let secret;
    try {
      secret = parseApiKeySecret(fromEnv);
    } catch (error) {
      throw new Error(`REACH_API_KEY_SECRET: ${error.message}`);
    }
    const kept = readSecretFile();
    if (kept !== null && !sameSecret(() => parseApiKeySecret(kept), secret)) {
      log(`warning: REACH_API_KEY_SECRET differs from ${path.relative(root, SECRET_FILE)}, which reachctl reads when REACH_API_KEY_SECRET is not set`);
    }
    return fromEnv;
  }
  let text = readSecretFile();
  if (text === null) {
    fs.mkdirSync(path.dirname(SECRET_FILE), { recursive: true, mode: 0o700 });
    // Written aside, then linked into place: the file appears complete or not at all, and when
    // two starts race, the first link wins and the other start reads the winner's secret.
    const pending = `${SECRET_FILE}.${process.pid}.tmp`;
    fs.writeFileSync(pending, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(pending, SECRET_FILE);
      log(`created the API key secret in ${path.relative(root, SECRET_FILE)} (keep it: every API key is derived from it)`);
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    } finally {
      fs.unlinkSync(pending);
    }
    text = readSecretFile();
  }
  if ((fs.statSync(SECRET_FILE).mode & 0o077) !== 0) {
    log(`warning: other users have access to ${path.relative(root, SECRET_FILE)}; chmod 600 it`);
  }
  try {
    parseApiKeySecret(text);
  } catch (error) {
    throw new Error(`${SECRET_FILE}: ${error.message}`);
  }
  return text.trim();
}

function sameSecret(parseKept, secret) {
  try {
    return parseKept().equals(secret);
  } catch {
    return false;
  }
}

function readSecretFile() {
  try {
    return fs.readFileSync(SECRET_FILE, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
}

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
    const secret = apiKeySecret();
    log('starting projector, dispatcher, scheduler, callbacks, api-gateway…');
    platform = await startPlatform({
      env: { DATABASE_URL: databaseUrl, NATS_URL: natsUrl, REACH_API_KEY_SECRET: secret },
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
