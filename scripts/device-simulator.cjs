#!/usr/bin/env node
'use strict';
/**
 * A simulated phone as its own process, speaking the real device protocol
 * (docs/device-protocol.md), on the built lib (`reachctl device simulate` runs the same session):
 *   npm run build && node scripts/device-simulator.cjs --url ws://127.0.0.1:3000/v1/device \
 *     --token TOKEN --send-latency-ms 200 --delivery-latency-ms 1000 --failure-rate 0.02 \
 *     [--max-sends-per-minute 30] [--number +E164] [--inbound-every-ms 5000 --inbound-from +E164]
 * Admin hook on stdin, one command a line:
 *   inbound <from> <text…>   the phone receives an SMS and reports it
 *   drop                     cut the connection (the simulator reconnects)
 *   stats                    commands received, reports not yet acked
 */
const readline = require('node:readline');
const { parseArgs } = require('node:util');
const pino = require('pino');
const { startSimulatedPhone } = require('../libs/device-gateway/dist');

const { values } = parseArgs({
  options: {
    // The public edge (api-gateway), which routes devices to the dispatcher that owns the channels.
    url: { type: 'string', default: 'ws://127.0.0.1:3000/v1/device' },
    token: { type: 'string' },
    'send-latency-ms': { type: 'string', default: '200' },
    'delivery-latency-ms': { type: 'string', default: '1000' },
    'failure-rate': { type: 'string', default: '0' },
    'max-sends-per-minute': { type: 'string', default: '30' },
    number: { type: 'string' },
    // Inbound traffic: every N ms the phone receives an SMS from --inbound-from (0: only on demand).
    'inbound-every-ms': { type: 'string', default: '0' },
    'inbound-from': { type: 'string', default: '+14155550100' },
  },
});

if (!values.token) {
  console.error('--token is required (the device token printed once by `reachctl device create`)');
  process.exit(2);
}
const number = (name, min, max) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min || n > max) {
    console.error(`--${name} must be a number in [${min}, ${max}]`);
    process.exit(2);
  }
  return n;
};

const logger = pino({ name: 'device-simulator' });

async function main() {
  const session = await startSimulatedPhone(
    {
      url: values.url,
      token: values.token,
      sendLatencyMs: number('send-latency-ms', 0, 3_600_000),
      deliveryLatencyMs: number('delivery-latency-ms', 0, 3_600_000),
      failureRate: number('failure-rate', 0, 1),
      maxSendsPerMinute: number('max-sends-per-minute', 1, 10_000),
      ...(values.number ? { number: values.number } : {}),
      inboundEveryMs: number('inbound-every-ms', 0, 86_400_000),
      inboundFrom: values['inbound-from'],
      connectAttempts: 30,
    },
    logger,
  );
  const input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (!line.trim()) return;
    const done = session.command(line);
    if (done) logger.info(done);
    else logger.warn({ line }, 'unknown command (inbound <from> <text> | drop | stats)');
  });
  const stop = () => {
    input.close();
    session.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  logger.error({ err: error }, 'device simulator failed to start');
  process.exit(1);
});
