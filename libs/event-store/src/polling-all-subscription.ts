import type { AllSubscription, LogPosition, RecordedEvent } from './event-store.port';

export interface PollingAllSubscriptionOptions {
  /** Reads up to `maxCount` events strictly after `after`, in log order. */
  readonly readAfter: (after: LogPosition, maxCount: number) => Promise<RecordedEvent[]>;
  readonly after: LogPosition;
  readonly maxBatch: number;
  /** Idle wait between polls once caught up; there is no wait while pages come back full. */
  readonly pollIntervalMs: number;
  /** Called once when the subscription ends, however it ends. */
  readonly onEnd?: () => void;
}

/**
 * Catch-up then tail of the global log by polling `readAfter`. Polling (rather than LISTEN/NOTIFY
 * from the append) keeps appends free of a commit-serialising notification queue; the reader
 * only ever sees what `readAfter` guarantees is final, so it never skips an event.
 */
export class PollingAllSubscription implements AllSubscription {
  private position: LogPosition;
  private closed = false;
  private iterated = false;
  private ended = false;
  private wake: (() => void) | null = null;
  private inFlight: Promise<unknown> | null = null;

  constructor(private readonly options: PollingAllSubscriptionOptions) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) {
      throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    }
    this.position = options.after;
  }

  [Symbol.asyncIterator](): AsyncIterator<readonly RecordedEvent[]> {
    if (this.iterated) throw new Error('an AllSubscription can be iterated only once');
    this.iterated = true;
    return this.batches();
  }

  /** Ends the iteration promptly, also while it waits for new events; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    // Let a query already sent finish, so its connection is back in the pool when we return.
    await this.inFlight?.catch(() => undefined);
    this.end();
  }

  private async *batches(): AsyncGenerator<readonly RecordedEvent[], void, undefined> {
    try {
      while (!this.closed) {
        const read = this.options.readAfter(this.position, this.options.maxBatch);
        this.inFlight = read;
        let batch: RecordedEvent[];
        try {
          batch = await read;
        } finally {
          this.inFlight = null;
        }
        if (this.closed) return;
        const last = batch[batch.length - 1];
        if (last) {
          this.position = last.position;
          yield batch;
        }
        if (batch.length < this.options.maxBatch) await this.sleep(this.options.pollIntervalMs);
      }
    } finally {
      this.closed = true;
      this.end();
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.options.onEnd?.();
  }
}
