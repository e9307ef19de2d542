import { randomBytes } from 'node:crypto';
import path from 'node:path';

/**
 * Starts the built platform once for all e2e suites: its own database and NATS namespace, and
 * ports of its own, so a developer's running platform is untouched. Simulated latencies are
 * short so the suites finish quickly; the behaviour is the same as with the defaults.
 */
export default async function globalSetup(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startPlatform } = require(path.join(__dirname, '../../scripts/platform-launcher.cjs'));
  const suffix = randomBytes(4).toString('hex');
  const database = new URL(process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/reach');
  database.pathname = `/reach_e2e_${suffix}`;
  const basePort = Number(process.env['E2E_BASE_PORT'] ?? 4300);
  const env = {
    DATABASE_URL: database.toString(),
    NATS_URL: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
    REACH_NAMESPACE: `e2e${suffix}`,
    // A platform secret per run (API keys are derived from it): the callbacks service and the
    // suites' reachctl (support.ts) must share it.
    REACH_API_KEY_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'warn',
    SIM_SEND_LATENCY_MS: '150',
    SIM_DELIVERY_LATENCY_MS: '250',
    // Reach scheduledTime: a few seconds ahead is enough here, so scheduling tests need not wait 15 minutes.
    SCHEDULE_MIN_AHEAD_SECONDS: '2',
    // Small, so limits.e2e.spec.ts can exceed it; every other suite sends one request at a time per account.
    ACCOUNT_CONCURRENCY_LIMIT: '8',
    // Real channels: connectors and device bindings added by a suite are picked up quickly, a
    // device's pacing window is seconds rather than a minute, and a dead device is noticed fast.
    CHANNEL_REFRESH_INTERVAL_MS: '300',
    DEVICE_PACING_WINDOW_MS: '3000',
    DEVICE_HEARTBEAT_INTERVAL_MS: '1000',
  };
  const platform = await startPlatform({ env, basePort, output: 'inherit' });
  Object.assign(globalThis, { __REACH_PLATFORM__: platform });
  process.env['E2E_GATEWAY_URL'] = platform.gatewayUrl;
  process.env['E2E_DATABASE_URL'] = env.DATABASE_URL;
  process.env['E2E_NATS_URL'] = env.NATS_URL;
  process.env['E2E_NAMESPACE'] = env.REACH_NAMESPACE;
  process.env['E2E_API_KEY_SECRET'] = env.REACH_API_KEY_SECRET;
  process.env['E2E_BASE_PORT_IN_USE'] = String(basePort);
}
