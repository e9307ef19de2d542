/**
 * Per-device send pacing: at most `limit` sends in any window of `windowMs` (default 30 per
 * 60 s, Android's own limit). A sliding-window log rather than a refilling bucket: a bucket of
 * burst N refilled at N/window lets almost 2N through in one window, which the handset would
 * refuse. Time comes in as an argument, so the arithmetic is tested without timers.
 */
export class SendPacer {
  private readonly stamps: number[] = [];
  private currentLimit: number;

  constructor(
    limit: number,
    readonly windowMs: number,
  ) {
    if (!(windowMs > 0)) throw new RangeError('SendPacer needs windowMs > 0');
    this.currentLimit = checkedLimit(limit);
  }

  get limit(): number {
    return this.currentLimit;
  }

  /** Changes the limit; the sends already in the window still count against the new one. */
  set limit(limit: number) {
    this.currentLimit = checkedLimit(limit);
  }

  /** Takes a slot and returns 0, or returns the milliseconds until one frees up. */
  take(now: number): number {
    const wait = this.wait(now);
    if (wait === 0) this.stamps.push(now);
    return wait;
  }

  /** The milliseconds until a slot is free (0: one is free now), without taking it. */
  wait(now: number): number {
    while (this.stamps.length > 0 && (this.stamps[0] as number) + this.windowMs <= now) this.stamps.shift();
    if (this.stamps.length < this.currentLimit) return 0;
    // Over a lowered limit: wait until enough of the window's sends have left it.
    return (this.stamps[this.stamps.length - this.currentLimit] as number) + this.windowMs - now;
  }
}

function checkedLimit(limit: number): number {
  if (!(limit >= 1) || !Number.isInteger(limit)) throw new RangeError('SendPacer needs an integer limit >= 1');
  return limit;
}
