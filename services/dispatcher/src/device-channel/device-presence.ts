import type { Logger } from 'pino';
import type { SetNumberPresence } from './device-channel.ports';

/**
 * Publishes numbers' presence. Writes of one number go out one after another, so the KV ends
 * with the last state asked for; a failed write is logged (presence is advisory: it only
 * decides whether the API answers `dispatched` or `queued`) and retried by the next reconcile.
 */
export class NumberPresence {
  /** What was last asked for each number (cleared when that write failed). */
  private readonly told = new Map<string, boolean>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly write: SetNumberPresence,
    private readonly logger: Logger,
  ) {}

  /** Writes the number's presence (always: a device came or went). */
  publish(e164: string, online: boolean): void {
    this.told.set(e164, online);
    const previous = this.chains.get(e164) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        await this.write(e164, online);
      } catch (error) {
        this.logger.warn({ err: error, e164, online }, 'could not publish the number presence');
        if (this.told.get(e164) === online) this.told.delete(e164);
      }
    });
    this.chains.set(e164, next);
    void next.then(() => {
      if (this.chains.get(e164) === next) this.chains.delete(e164);
    });
  }

  /** Forgets what was told for the number: the next `reconcile` writes it whatever it is. */
  forget(e164: string): void {
    this.told.delete(e164);
  }

  /**
   * Brings the KV to `desired` (every bound number: whether its device is online here), writing
   * only what differs from what was told; a number told online that is no longer bound goes
   * offline.
   */
  reconcile(desired: ReadonlyMap<string, boolean>): void {
    for (const [e164, online] of desired) if (this.told.get(e164) !== online) this.publish(e164, online);
    for (const [e164, online] of [...this.told]) {
      if (desired.has(e164)) continue;
      if (online) this.publish(e164, false);
      this.told.delete(e164);
    }
  }

  /** Resolves once every write asked for so far has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }
}
