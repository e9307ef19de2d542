/**
 * Runs work in batches without adding latency: a call that finds a free slot goes out at once;
 * calls that arrive while `maxInFlight` batches are running wait and leave together in the next
 * batch. Under load this turns many small round trips into few large ones (group commit).
 */
export class MicroBatcher<I, O> {
  private readonly waiting: Array<{ input: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private inFlight = 0;

  constructor(
    private readonly run: (inputs: I[]) => Promise<Array<{ ok: true; value: O } | { ok: false; error: unknown }>>,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.inFlight++;
      this.run(batch.map((b) => b.input))
        .then(
          (results) =>
            batch.forEach((b, i) => {
              const result = results[i];
              if (!result) b.reject(new Error('batch returned no result for an input'));
              else if (result.ok) b.resolve(result.value);
              else b.reject(result.error);
            }),
          (error) => batch.forEach((b) => b.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.drain();
        });
    }
  }
}
