#!/usr/bin/env node
'use strict';
/**
 * A simulated phone as its own process (issue 5, item 4), speaking the real device protocol
 * (docs/device-protocol.md), on the built lib:
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
const { DeviceSimulator } = require('../libs/device-gateway/dist');

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
  const simulator = new DeviceSimulator({
    url: values.url,
    token: values.token,
    sendLatencyMs: number('send-latency-ms', 0, 3_600_000),
    deliveryLatencyMs: number('delivery-latency-ms', 0, 3_600_000),
    failureRate: number('failure-rate', 0, 1),
    maxSendsPerMinute: number('max-sends-per-minute', 1, 10_000),
    sims: [values.number ? { slot: 0, number: values.number } : { slot: 0 }],
    logger,
  });
  simulator.on('welcome', (welcome) => logger.info({ deviceId: welcome.deviceId, sendsPerMinute: welcome.sendsPerMinute }, 'connected'));
  simulator.on('disconnected', ({ code }) => logger.warn({ code }, 'disconnected; reconnecting'));
  simulator.on('command', (command) => logger.info({ commandId: command.commandId, messageId: command.messageId, destination: command.destination }, 'send command'));
  simulator.on('reported', (report) => logger.info(report, 'reported'));
  simulator.on('error-frame', (frame) => logger.warn(frame, 'gateway error frame'));
  // The edge answers 503 while no dispatcher owns the channels (e.g. the platform is starting).
  for (let attempt = 1; ; attempt++) {
    try {
      await simulator.connect();
      break;
    } catch (error) {
      const refused = error && (error.status === 401 || error.status === 403);
      if (refused || attempt >= 30) throw error;
      logger.warn({ err: error }, 'could not connect yet; retrying in 1 s');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  const inboundEvery = number('inbound-every-ms', 0, 86_400_000);
  let inboundCount = 0;
  const inboundTimer =
    inboundEvery > 0
      ? setInterval(() => {
          inboundCount += 1;
          const inboundId = simulator.receiveSms({ from: values['inbound-from'], body: `Simulated inbound SMS ${inboundCount}` });
          logger.info({ inboundId }, 'inbound reported');
        }, inboundEvery)
      : undefined;

  const input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    const [command, from, ...text] = line.trim().split(/\s+/);
    if (command === 'inbound' && from) logger.info({ inboundId: simulator.receiveSms({ from, body: text.join(' ') }) }, 'inbound reported');
    else if (command === 'drop') simulator.drop();
    else if (command === 'stats') logger.info({ commands: simulator.commands.length, unacked: simulator.unackedCount }, 'stats');
    else if (command) logger.warn({ line }, 'unknown command (inbound <from> <text> | drop | stats)');
  });
  const stop = () => {
    if (inboundTimer) clearInterval(inboundTimer);
    input.close();
    simulator.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  logger.error({ err: error }, 'device simulator failed to start');
  process.exit(1);
});
