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
 *   { type: 'steady', rate, seconds, devices, tickMs }
 *                                              → { type: 'steady-sent', issued, seconds, ticks, largestTick,
 *                                                  maxTickGapMs, queuedMs, loopDelay }
 *       rate × seconds send commands at a steady rate instead of in one burst: a timer every
 *       `tickMs` issues the commands due by then (rate × tickMs / 1000 a tick; more after a late
 *       tick, so the rate holds), to the devices in turn (command k → device k mod `devices`);
 *       bodies stamped as above. Answers once the last one is issued, with this process's own
 *       event-loop delay over the phase.
 * Exits when the parent goes away.
 */
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
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
  } else if (message.type === 'steady') {
    const { rate, seconds, devices, tickMs } = message;
    const total = Math.round(rate * seconds);
    queued = [];
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    let issued = 0;
    let ticks = 0;
    let largestTick = 0;
    let maxTickGapMs = 0;
    const started = performance.now();
    let lastTick = started;
    const timer = setInterval(() => {
      const now = performance.now();
      ticks += 1;
      maxTickGapMs = Math.max(maxTickGapMs, now - lastTick);
      lastTick = now;
      const due = Math.min(total, Math.floor(((now - started) * rate) / 1000));
      largestTick = Math.max(largestTick, due - issued);
      for (; issued < due; issued++) {
        const id = `s-${issued}`;
        gateway.sendCommand(`dev-${issued % devices}`, { commandId: id, messageId: id, destination: '+14155550100', body: `${epochMs()}`, segments: 1 });
      }
      if (issued < total) return;
      clearInterval(timer);
      loopDelay.disable();
      process.send({
        type: 'steady-sent',
        issued,
        seconds: (performance.now() - started) / 1000,
        ticks,
        largestTick,
        maxTickGapMs,
        queuedMs: queued,
        loopDelay: { p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 },
      });
    }, tickMs);
  }
});

process.on('disconnect', () => process.exit(0));
