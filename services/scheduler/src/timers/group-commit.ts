/**
 * Group commit for timer writes: a submit that finds a free slot is written at once; submits
 * that arrive while `maxInFlight` writes are running wait and go together in the next write (at
 * most `maxItems` items). Under load many consumer deliveries share one statement; when idle a
 * delivery waits for nobody. Each submit resolves once the write holding its items committed,
 * and rejects if that write failed (the delivery is then redelivered).
 *
 * The event store has the same device internally (`MicroBatcher`); this one batches lists of
 * items and needs no per-item results.
 */
export class GroupCommit<T> {
  private readonly waiting: Array<{ items: readonly T[]; resolve: () => void; reject: (error: unknown) => void }> = [];
  private inFlight = 0;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxInFlight: number,
    private readonly maxItems: number,
  ) {}

  submit(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ items, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const group = [this.waiting.shift()!];
      let count = group[0]!.items.length;
      while (this.waiting.length > 0 && count + this.waiting[0]!.items.length <= this.maxItems) {
        const next = this.waiting.shift()!;
        count += next.items.length;
        group.push(next);
      }
      this.inFlight++;
      this.write(group.flatMap((g) => g.items))
        .then(
          () => group.forEach((g) => g.resolve()),
          (error: unknown) => group.forEach((g) => g.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.drain();
        });
    }
  }
}
