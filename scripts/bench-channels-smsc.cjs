'use strict';
/**
 * The SMSC side of `npm run bench:channels`, in a process of its own so the bind under test does
 * not share an event loop with it: the SMSC simulator of libs/smpp-channel (built), on an
 * ephemeral port, receipts at once (dlr delay 0, all delivered). Driven over IPC:
 *   { type: 'start', systemId, password }  → { type: 'listening', port }
 *   { type: 'stats' }                      → { type: 'stats', submits, deliveries, binds, peakOutstanding }
 * Exits when the parent goes away.
 */
const pino = require('pino');
const { SmscSimulator } = require('../libs/smpp-channel/dist');

let simulator = null;

process.on('message', async (message) => {
  if (message.type === 'start') {
    simulator = await SmscSimulator.start({
      port: 0,
      host: '127.0.0.1',
      systemId: message.systemId,
      password: message.password,
      dlrDelayMs: 0,
      dlrOutcome: 'delivered',
      logger: pino({ level: 'warn' }),
    });
    process.send({ type: 'listening', port: simulator.port });
  } else if (message.type === 'stats') {
    process.send({
      type: 'stats',
      submits: simulator.submits.length,
      deliveries: simulator.deliveries.length,
      binds: simulator.bindCount,
      peakOutstanding: simulator.peakOutstanding,
    });
  }
});

process.on('disconnect', () => process.exit(0));
