'use strict';
/**
 * A share of the device fleet of `npm run bench:channels`: `DeviceSimulator`s (libs/device-gateway,
 * built) in a process of their own, so that 1,000 simulated phones do not all wait on one event
 * loop (real phones each have their own CPU). Each simulator answers a `send` with accepted, then
 * sent (50 ms) and delivered (100 ms later), as the real protocol asks. Driven over IPC:
 *   { type: 'connect', url, from, to, sendsPerMinute, concurrency } → { type: 'connected', ms } (or `error`)
 *       simulators for tokens bench-<from> … bench-<to − 1>
 *   { type: 'expect', count }  → { type: 'expecting' }, later { type: 'round-done', latencies, loopDelay }
 *       once `count` send frames arrived; latency = arrival − the epoch time in the command's body
 *       (stamped by the gateway process at `sendCommand`; same machine, same wall clock)
 *   { type: 'close' }          → { type: 'closed' }
 * Exits when the parent goes away.
 */
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const pino = require('pino');
const { DeviceSimulator } = require('../libs/device-gateway/dist');

const epochMs = () => performance.timeOrigin + performance.now();
const simulators = [];
let latencies = [];
let waitingFor = 0;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });

function onCommand(frame) {
  latencies.push(epochMs() - Number(frame.body));
  if (waitingFor > 0 && latencies.length >= waitingFor) {
    waitingFor = 0;
    const values = latencies;
    latencies = [];
    process.send({ type: 'round-done', latencies: values, loopDelay: { p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 } });
    loopDelay.reset();
  }
}

process.on('message', async (message) => {
  if (message.type === 'connect') {
    const logger = pino({ level: 'silent' });
    for (let i = message.from; i < message.to; i++) {
      const sim = new DeviceSimulator({
        url: message.url,
        token: `bench-${i}`,
        maxSendsPerMinute: message.sendsPerMinute,
        sendLatencyMs: 50,
        deliveryLatencyMs: 100,
        reconnect: false,
        logger,
      });
      sim.on('command', onCommand);
      simulators.push(sim);
    }
    const started = performance.now();
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: message.concurrency }, async () => {
          while (next < simulators.length) await simulators[next++].connect();
        }),
      );
    } catch (error) {
      process.send({ type: 'connected', error: String(error?.stack ?? error) });
      return;
    }
    loopDelay.enable();
    process.send({ type: 'connected', ms: performance.now() - started });
  } else if (message.type === 'expect') {
    loopDelay.reset();
    waitingFor = message.count;
    latencies = [];
    process.send({ type: 'expecting' });
  } else if (message.type === 'close') {
    loopDelay.disable();
    await Promise.all(simulators.map((sim) => sim.close()));
    process.send({ type: 'closed' });
  }
});

process.on('disconnect', () => process.exit(0));
