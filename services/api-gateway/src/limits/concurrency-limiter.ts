/** Gives back a slot taken by `tryAcquire`; calling it more than once gives back one slot only. */
export type ReleaseSlot = () => void;

/**
 * Counts the requests each account has in flight and refuses one more than `limit`. Pure
 * in-memory accounting, no clock: the caller releases the slot when its request is finished.
 * An account with nothing in flight holds no entry, so the map only grows with live traffic.
 */
export class ConcurrencyLimiter {
  private readonly inFlight = new Map<string, number>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
  }

  /** A release function when the account had a free slot, null when it is at its limit. */
  tryAcquire(accountId: string): ReleaseSlot | null {
    const current = this.inFlight.get(accountId) ?? 0;
    if (current >= this.limit) return null;
    this.inFlight.set(accountId, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const remaining = (this.inFlight.get(accountId) ?? 1) - 1;
      if (remaining > 0) this.inFlight.set(accountId, remaining);
      else this.inFlight.delete(accountId);
    };
  }

  /** Requests of `accountId` in flight now. */
  inFlightFor(accountId: string): number {
    return this.inFlight.get(accountId) ?? 0;
  }

  /** Accounts with at least one request in flight. */
  get activeAccounts(): number {
    return this.inFlight.size;
  }
}
