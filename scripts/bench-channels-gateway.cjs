'use strict';
/**
 * The device gateway side of `npm run bench:channels`, in a process of its own so its memory is
 * its own: a `DeviceGatewayServer` (libs/device-gateway, built) on an ephemeral port, tokens
 * resolved from memory (`bench-<i>` → device `dev-<i>`). Run with --expose-gc: memory figures
 * are taken after a full collection, so they show what the connections hold, not garbage.
 * Driven over IPC:
 *   { type: 'start', devices, sendsPerMinute } → { type: 'listening', port, memory }
 *   { type: 'stats' }                          → { type: 'stats', memory, online, reports }
 *   { type: 'round', round, devices }          → { type: 'round-sent', round, sendMs, queuedMs }
 *       one send command to each device; its body carries the epoch time (ms, fractional) at which
 *       `sendCommand` was called, so the receiving process measures command-to-device latency
 *       on the shared wall clock.
 * Exits when the parent goes away.
 */
const { performance } = require('node:perf_hooks');
const pino = require('pino');
const { DeviceGatewayServer } = require('../libs/device-gateway/dist');

let gateway = null;
let reports = 0;
/** queuedMs of each `dispatched` event (sendCommand → frame written), this round. */
let queued = [];

const epochMs = () => performance.timeOrigin + performance.now();

function memory() {
  global.gc?.();
  const usage = process.memoryUsage();
  return { rssMb: +(usage.rss / 1048576).toFixed(1), heapUsedMb: +(usage.heapUsed / 1048576).toFixed(1), externalMb: +(usage.external / 1048576).toFixed(1) };
}

process.on('message', async (message) => {
  if (message.type === 'start') {
    const { devices, sendsPerMinute } = message;
    const identities = new Map();
    for (let i = 0; i < devices; i++) identities.set(`bench-${i}`, { deviceId: `dev-${i}`, accountId: 'acc-bench', numbers: [], sendsPerMinute });
    gateway = await DeviceGatewayServer.start({
      lookup: async (token) => identities.get(token) ?? null,
      port: 0,
      host: '127.0.0.1',
      defaultSendsPerMinute: sendsPerMinute,
      logger: pino({ level: 'warn' }),
    });
    gateway.on('report', () => (reports += 1));
    gateway.on('dispatched', (d) => queued.push(d.queuedMs));
    process.send({ type: 'listening', port: gateway.port, memory: memory() });
  } else if (message.type === 'stats') {
    process.send({ type: 'stats', memory: memory(), online: gateway.onlineCount, reports });
  } else if (message.type === 'round') {
    queued = [];
    const started = performance.now();
    for (let i = 0; i < message.devices; i++) {
      const id = `r${message.round}-${i}`;
      gateway.sendCommand(`dev-${i}`, { commandId: id, messageId: id, destination: '+14155550100', body: `${epochMs()}`, segments: 1 });
    }
    process.send({ type: 'round-sent', round: message.round, sendMs: performance.now() - started, queuedMs: queued });
  }
});

process.on('disconnect', () => process.exit(0));
