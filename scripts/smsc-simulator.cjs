#!/usr/bin/env node
'use strict';
/**
 * The SMSC simulator as its own process (issue 5, item 7), on the built lib:
 *   npm run build && node scripts/smsc-simulator.cjs --port 2775 --system-id reach --password secret \
 *     --dlr-delay-ms 500 --dlr-outcome mixed --reject-rate 0.01
 * Admin hook on stdin, one command a line:
 *   mo <source> <destination> <text…>   inject an MO message to a bound session
 *   drop                                 drop every connection (clients must reconnect)
 *   stats                                submits, binds, peak outstanding
 */
const readline = require('node:readline');
const { parseArgs } = require('node:util');
const pino = require('pino');
const { SmscSimulator } = require('../libs/smpp-channel/dist');

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '2775' },
    host: { type: 'string', default: '127.0.0.1' },
    'system-id': { type: 'string', default: 'reach' },
    password: { type: 'string', default: 'secret' },
    'dlr-delay-ms': { type: 'string', default: '0' },
    'dlr-outcome': { type: 'string', default: 'delivered' },
    'reject-rate': { type: 'string', default: '0' },
  },
});

const outcome = values['dlr-outcome'];
const OUTCOMES = ['delivered', 'undelivered', 'expired', 'rejected', 'deleted', 'unknown', 'mixed'];
if (!OUTCOMES.includes(outcome)) {
  console.error(`--dlr-outcome must be ${OUTCOMES.join('|')}, got ${outcome}`);
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

const logger = pino({ name: 'smsc-simulator' });

async function main() {
  const simulator = await SmscSimulator.start({
    port: number('port', 0, 65535),
    host: values.host,
    systemId: values['system-id'],
    password: values.password,
    dlrDelayMs: number('dlr-delay-ms', 0, 86_400_000),
    dlrOutcome: outcome,
    rejectRate: number('reject-rate', 0, 1),
    logger,
  });
  logger.info({ host: values.host, port: simulator.port, systemId: values['system-id'] }, 'SMSC simulator listening');

  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, ...args] = line.trim().split(/\s+/);
    if (command === 'mo' && args.length >= 3) {
      const [source, destination, ...text] = args;
      logger.info({ injected: simulator.injectMo({ source, destination, text: text.join(' ') }) }, 'mo');
    } else if (command === 'drop') {
      simulator.dropAll();
      logger.info('dropped all connections');
    } else if (command === 'stats') {
      logger.info({ submits: simulator.submits.length, binds: simulator.bindCount, peakOutstanding: simulator.peakOutstanding }, 'stats');
    } else if (command) {
      logger.warn({ line }, 'commands: mo <source> <destination> <text>, drop, stats');
    }
  });

  const stop = () => void simulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error) => {
  logger.error({ err: error }, 'SMSC simulator failed');
  process.exit(1);
});
