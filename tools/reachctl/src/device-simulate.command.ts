import readline from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import pino from 'pino';
import { startSimulatedPhone, type SimulatedPhoneSettings } from '@reach/device-gateway';

/** A rate between 0 and 1, e.g. 0.02. */
export function parseRate(value: string): number {
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(value)) throw new InvalidArgumentError('expected a rate between 0 and 1 such as 0.02.');
  return Number(value);
}

export function parseMilliseconds(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('expected milliseconds as a whole number such as 500.');
  return Number(value);
}

interface SimulateOptions {
  token: string;
  url: string;
  sendLatencyMs: number;
  deliveryLatencyMs: number;
  failureRate: number;
  maxSendsPerMinute: number;
  number?: string;
  inboundEveryMs: number;
  inboundFrom: string;
}

/**
 * `reachctl device simulate`: a simulated phone that speaks the real device protocol to the
 * public edge, until Ctrl-C. Its log lines (pino JSON) go to stdout; stdin takes `inbound <from>
 * <text…>`, `drop` and `stats`.
 */
export function registerDeviceSimulateCommand(device: Command): void {
  device
    .command('simulate')
    .description('run a simulated phone that connects with a device token and sends, reports and receives like a real one (Ctrl-C stops it)')
    .requiredOption('--token <token>', 'the device token printed by `reachctl device create`')
    .option('--url <url>', 'the public edge', 'ws://127.0.0.1:3000/v1/device')
    .option('--send-latency-ms <ms>', 'from taking a command to reporting it sent', parseMilliseconds, 200)
    .option('--delivery-latency-ms <ms>', 'from sent to the delivery report', parseMilliseconds, 1000)
    .option('--failure-rate <rate>', 'share of sends reported failed (0–1)', parseRate, 0)
    .option('--max-sends-per-minute <n>', "the handset's own limit, told in hello", parseMilliseconds, 30)
    .option('--number <e164>', "the SIM's number, when the phone knows it")
    .option('--inbound-every-ms <ms>', 'receive an SMS every so often (0: only when typed: inbound <from> <text>)', parseMilliseconds, 0)
    .option('--inbound-from <e164>', 'the sender of generated inbound SMS', '+14155550100')
    .action(async (options: SimulateOptions) => {
      const settings: SimulatedPhoneSettings = {
        url: options.url,
        token: options.token,
        sendLatencyMs: options.sendLatencyMs,
        deliveryLatencyMs: options.deliveryLatencyMs,
        failureRate: options.failureRate,
        maxSendsPerMinute: Math.max(1, options.maxSendsPerMinute),
        ...(options.number ? { number: options.number } : {}),
        inboundEveryMs: options.inboundEveryMs,
        inboundFrom: options.inboundFrom,
        connectAttempts: 30,
      };
      const logger = pino({ name: 'device-simulator' });
      const session = await startSimulatedPhone(settings, logger);
      const input = readline.createInterface({ input: process.stdin });
      input.on('line', (line) => {
        if (!line.trim()) return;
        const done = session.command(line);
        if (done) logger.info(done);
        else logger.warn({ line }, 'unknown command (inbound <from> <text> | drop | stats)');
      });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      input.close();
      await session.stop();
    });
}
