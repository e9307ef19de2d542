import type { ChannelHooks, ChannelReports, ChannelSend, OutboundChannel } from '../channels/outbound-channel';

/**
 * The simulated channel: one phone per provisioned number and a simulated carrier behind it,
 * with configurable latencies and failure rates. It has no I/O of its own — outcomes reach the
 * dispatcher through `ChannelReports`, exactly as a real device or SMPP bind would report them.
 * A phone is online as the presence directory says (`reachctl device online|offline`).
 */

export interface SimulationSettings {
  readonly sendLatencyMs: number;
  readonly deliveryLatencyMs: number;
  readonly failureRate: number;
  readonly undeliveredRate: number;
}

export type SimulatedSend = Pick<ChannelSend, 'messageId' | 'from' | 'to' | 'body'>;

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** `YYMMDDhhmm` in UTC, the receipt's "done date". */
export function dlrDateOf(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(date.getUTCFullYear() % 100)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}`;
}

export class SimulatedChannel implements OutboundChannel {
  readonly kind = 'simulated' as const;
  /** Messages a phone holds, by id, and what is still owed: a repeated hand-over is not acted on twice. */
  private readonly holding = new Map<string, { handle: unknown; stage: 'send' | 'receipt' }>();
  private reports: ChannelReports | null = null;

  constructor(
    private readonly settings: SimulationSettings,
    private readonly isOnline: (e164: string) => boolean,
    private readonly random: () => number = Math.random,
    private readonly timers: Scheduler = realTimers,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  start(hooks: ChannelHooks): Promise<void> {
    this.reports = hooks.reports;
    return Promise.resolve();
  }

  isReady(sender: string): boolean {
    return this.isOnline(sender);
  }

  /** The phone takes the command; it reports sent (or failed) after the send latency. */
  send(message: SimulatedSend): void {
    if (this.holding.has(message.messageId)) return;
    this.track(message.messageId, 'send', this.settings.sendLatencyMs, () => {
      if (this.random() < this.settings.failureRate) {
        this.holding.delete(message.messageId);
        this.report((r) => r.failed(message.messageId, 30008, 'The phone could not send the message (simulated radio error)'));
        return;
      }
      this.report((r) => r.sent(message.messageId, `sim-${message.messageId.slice(0, 8)}`));
      this.awaitReceipt(message.messageId);
    });
  }

  /** The carrier's receipt for a message already sent (used when resuming after a restart). */
  awaitReceipt(messageId: string): void {
    if (this.holding.get(messageId)?.stage === 'receipt') return;
    this.track(messageId, 'receipt', this.settings.deliveryLatencyMs, () => {
      this.holding.delete(messageId);
      const done = dlrDateOf(this.clock());
      if (this.random() < this.settings.undeliveredRate) {
        this.report((r) => r.undelivered(messageId, 30005, 'Destination handset unreachable (simulated receipt UNDELIV)', done));
      } else {
        this.report((r) => r.delivered(messageId, done));
      }
    });
  }

  get inFlight(): number {
    return this.holding.size;
  }

  stop(): Promise<void> {
    for (const { handle } of this.holding.values()) this.timers.clearTimeout(handle);
    this.holding.clear();
    return Promise.resolve();
  }

  /**
   * The simulated phone needs no acknowledgement: a report the dispatcher could not record is
   * lost with this process, and the next owner's resume sweep finishes the message instead.
   */
  private report(record: (reports: ChannelReports) => Promise<void>): void {
    if (this.reports) void record(this.reports).catch(() => undefined);
  }

  private track(messageId: string, stage: 'send' | 'receipt', delayMs: number, then: () => void): void {
    const handle = this.timers.setTimeout(then, delayMs);
    this.holding.set(messageId, { handle, stage });
  }
}
