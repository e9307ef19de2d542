'use strict';
/**
 * Starts the Reach services, each as its own process, and waits until every one reports ready.
 * Used by `npm start` (scripts/platform.cjs), the end-to-end tests and the benchmark.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** Start order: the projector (relay) first, the public gateway last. */
const SERVICES = [
  { name: 'projector', portVar: 'PROJECTOR_PORT', offset: 4 },
  { name: 'dispatcher', portVar: 'DISPATCHER_PORT', offset: 1 },
  { name: 'scheduler', portVar: 'SCHEDULER_PORT', offset: 2 },
  { name: 'callbacks', portVar: 'CALLBACKS_PORT', offset: 3 },
  { name: 'api-gateway', portVar: 'PORT', offset: 0 },
];
/** The dispatcher's device gateway (WebSocket), reached by devices through the api-gateway's `/v1/device`. */
const DEVICE_GATEWAY_OFFSET = 5;

/**
 * `env` (or the environment) must hold REACH_API_KEY_SECRET.
 * @param {{ env?: Record<string,string>, basePort?: number, output?: 'inherit'|'ignore'|'prefix', readyTimeoutMs?: number, onExit?: (name: string, code: number|null) => void }} options
 */
async function startPlatform(options = {}) {
  // The callbacks service refuses to start without it; say so before starting anything.
  if (!(options.env?.REACH_API_KEY_SECRET || process.env.REACH_API_KEY_SECRET)) {
    throw new Error(
      'REACH_API_KEY_SECRET is not set: the platform secret API keys are derived from (the same one reachctl uses). ' +
        'Pass it in the environment (generate one with `openssl rand -hex 32`); npm start keeps one in .data/api-key-secret.',
    );
  }
  const basePort = options.basePort ?? Number(process.env.PORT ?? 3000);
  const children = [];
  const platform = {
    basePort,
    gatewayUrl: `http://127.0.0.1:${basePort}`,
    children,
    stopping: false,
    stop: () => stopPlatform(platform),
  };
  for (const service of SERVICES) {
    const port = basePort + service.offset;
    const env = {
      ...process.env,
      DEVICE_GATEWAY_PORT: String(basePort + DEVICE_GATEWAY_OFFSET),
      ...options.env,
      [service.portVar]: String(port),
    };
    const entry = path.join(root, 'services', service.name, 'dist', 'main.js');
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), entry], {
      env,
      cwd: root,
      stdio: ['ignore', options.output === 'ignore' ? 'ignore' : 'pipe', options.output === 'ignore' ? 'ignore' : 'pipe'],
    });
    if (options.output !== 'ignore') {
      child.stdout.pipe(process.stdout);
      child.stderr.pipe(process.stderr);
    }
    const record = { ...service, port, child, exited: false, code: null };
    child.on('exit', (code) => {
      record.exited = true;
      record.code = code;
      if (!platform.stopping) options.onExit?.(service.name, code);
    });
    children.push(record);
  }
  try {
    await Promise.all(children.map((c) => waitReady(c, options.readyTimeoutMs ?? 60_000)));
  } catch (error) {
    await stopPlatform(platform);
    throw error;
  }
  return platform;
}

async function waitReady(record, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (record.exited) throw new Error(`${record.name} exited with code ${record.code} before it was ready`);
    try {
      const response = await fetch(`http://127.0.0.1:${record.port}/ready`);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${record.name} was not ready within ${timeoutMs} ms (last answer: ${last})`);
}

/** SIGTERM to every service (gateway first, so no new work arrives), then wait for them to exit. */
async function stopPlatform(platform, timeoutMs = 30_000) {
  platform.stopping = true;
  const reversed = [...platform.children].reverse();
  for (const record of reversed) {
    if (!record.exited) record.child.kill('SIGTERM');
    await waitExit(record, timeoutMs);
  }
}

function waitExit(record, timeoutMs) {
  if (record.exited) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      record.child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
    record.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

module.exports = { startPlatform, stopPlatform, SERVICES };
