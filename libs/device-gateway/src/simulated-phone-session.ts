import type { Logger } from 'pino';
import { DeviceSimulator, DeviceSimulatorRejectedError } from './device-simulator';

/** What a simulated phone run from the command line does (`reachctl device simulate`, scripts/device-simulator.cjs). */
export interface SimulatedPhoneSettings {
  /** The public edge, e.g. ws://127.0.0.1:3000/v1/device. */
  readonly url: string;
  readonly token: string;
  readonly sendLatencyMs: number;
  readonly deliveryLatencyMs: number;
  readonly failureRate: number;
  readonly maxSendsPerMinute: number;
  /** The SIM's number, when the phone knows it (sent in hello). */
  readonly number?: string;
  /** Every N ms the phone receives an SMS from `inboundFrom` (0: only when asked). */
  readonly inboundEveryMs: number;
  readonly inboundFrom: string;
  /** Attempts of the first connection while the edge answers 503 (no channel owner yet), 1 s apart. */
  readonly connectAttempts: number;
}

export interface SimulatedPhoneSession {
  readonly simulator: DeviceSimulator;
  /**
   * One admin command a line: `inbound <from> <text…>`, `drop`, `stats`. Returns what it did, or
   * null for an unknown command.
   */
  command(line: string): string | null;
  stop(): Promise<void>;
}

/**
 * Connects a simulated phone that speaks the real device protocol, retrying the first
 * connection while the edge has no channel owner (503), logs what it receives and reports, and
 * generates steady inbound traffic when asked. Rejects when the token is refused (401/403).
 */
export async function startSimulatedPhone(settings: SimulatedPhoneSettings, logger: Logger): Promise<SimulatedPhoneSession> {
  const simulator = new DeviceSimulator({
    url: settings.url,
    token: settings.token,
    sendLatencyMs: settings.sendLatencyMs,
    deliveryLatencyMs: settings.deliveryLatencyMs,
    failureRate: settings.failureRate,
    maxSendsPerMinute: settings.maxSendsPerMinute,
    sims: [settings.number ? { slot: 0, number: settings.number } : { slot: 0 }],
    logger,
  });
  simulator.on('welcome', (welcome) => logger.info({ deviceId: welcome.deviceId, sendsPerMinute: welcome.sendsPerMinute }, 'connected'));
  simulator.on('disconnected', ({ code }) => logger.warn({ code }, 'disconnected; reconnecting'));
  simulator.on('command', (command) => logger.info({ commandId: command.commandId, messageId: command.messageId, destination: command.destination }, 'send command'));
  simulator.on('reported', (report) => logger.info(report, 'reported'));
  simulator.on('error-frame', (frame) => logger.warn(frame, 'gateway error frame'));

  for (let attempt = 1; ; attempt++) {
    try {
      await simulator.connect();
      break;
    } catch (error) {
      const refused = error instanceof DeviceSimulatorRejectedError && (error.status === 401 || error.status === 403);
      if (refused || attempt >= settings.connectAttempts) {
        await simulator.close();
        throw error;
      }
      logger.warn({ err: error }, 'could not connect yet; retrying in 1 s');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  let inboundCount = 0;
  const inboundTimer =
    settings.inboundEveryMs > 0
      ? setInterval(() => {
          inboundCount += 1;
          const inboundId = simulator.receiveSms({ from: settings.inboundFrom, body: `Simulated inbound SMS ${inboundCount}` });
          logger.info({ inboundId }, 'inbound reported');
        }, settings.inboundEveryMs)
      : undefined;

  return {
    simulator,
    command(line) {
      const [verb, from, ...text] = line.trim().split(/\s+/);
      if (verb === 'inbound' && from) return `inbound reported: ${simulator.receiveSms({ from, body: text.join(' ') })}`;
      if (verb === 'drop') {
        simulator.drop();
        return 'connection dropped';
      }
      if (verb === 'stats') return `commands received: ${simulator.commands.length}; frames not yet acknowledged: ${simulator.unackedCount}`;
      return null;
    },
    async stop() {
      if (inboundTimer) clearInterval(inboundTimer);
      await simulator.close();
    },
  };
}
