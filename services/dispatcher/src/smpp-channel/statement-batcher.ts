export interface StatementBatcherOptions {
  /** Statements of this kind running at once; calls beyond them wait and share the next one. Default 1. */
  readonly maxInFlight?: number;
  /** Most calls one statement carries. Default 500. */
  readonly maxBatch?: number;
  /**
   * A statement for several calls failed with this error: run each call on its own, so one bad
   * row (a constraint, a malformed value) fails only its own call. Default: never.
   */
  readonly splitOn?: (error: unknown) => boolean;
}

interface Waiting<I, O> {
  readonly input: I;
  readonly resolve: (output: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for one kind of statement: a call that finds a free slot runs at once, alone;
 * calls made while `maxInFlight` statements of the kind are running wait and then go out
 * together, as one multi-row statement. No added latency when idle, few round trips under load.
 *
 * A call never joins a statement already running: what it reads was read after it was made, so
 * it sees every write that completed before it (read your writes).
 *
 * `run` answers one output per input, in input order; a statement that fails rejects every call
 * it carried (unless `splitOn` sends them one by one).
 */
export class StatementBatcher<I, O> {
  private readonly waiting: Waiting<I, O>[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;

  constructor(
    private readonly run: (inputs: readonly I[]) => Promise<readonly O[]>,
    private readonly options: StatementBatcherOptions = {},
  ) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1);
    this.maxBatch = Math.max(1, options.maxBatch ?? 500);
  }

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.inFlight += 1;
      void this.runBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.drain();
      });
    }
  }

  private async runBatch(batch: readonly Waiting<I, O>[]): Promise<void> {
    try {
      settle(batch, await this.runChecked(batch.map((w) => w.input)));
    } catch (error) {
      if (batch.length > 1 && this.options.splitOn?.(error)) {
        await Promise.all(batch.map((w) => this.runChecked([w.input]).then((outputs) => settle([w], outputs), w.reject)));
        return;
      }
      for (const w of batch) w.reject(error);
    }
  }

  private async runChecked(inputs: readonly I[]): Promise<readonly O[]> {
    const outputs = await this.run(inputs);
    if (outputs.length !== inputs.length) throw new Error(`a batched statement answered ${outputs.length} results for ${inputs.length} calls`);
    return outputs;
  }
}

function settle<I, O>(batch: readonly Waiting<I, O>[], outputs: readonly O[]): void {
  batch.forEach((w, i) => w.resolve(outputs[i] as O));
}
