import { StatementBatcher, type StatementBatcherOptions } from './statement-batcher';

/** A statement runner whose statements finish when the test says: records each statement's inputs. */
class HeldStatements {
  readonly statements: (readonly number[])[] = [];
  private readonly finishers: ((error?: unknown) => void)[] = [];
  failWith: ((inputs: readonly number[]) => unknown) | null = null;

  readonly run = (inputs: readonly number[]): Promise<readonly string[]> => {
    this.statements.push([...inputs]);
    return new Promise((resolve, reject) => {
      this.finishers.push((error) => {
        const failure = error ?? this.failWith?.(inputs);
        if (failure) reject(failure);
        else resolve(inputs.map((i) => `row ${i}`));
      });
    });
  };

  get running(): number {
    return this.finishers.length;
  }

  /** Finishes the oldest running statement. */
  async finishNext(error?: unknown): Promise<void> {
    this.finishers.shift()?.(error);
    await flush();
  }
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function batcher(options: StatementBatcherOptions = {}): { statements: HeldStatements; batcher: StatementBatcher<number, string> } {
  const statements = new HeldStatements();
  return { statements, batcher: new StatementBatcher(statements.run, options) };
}

describe('StatementBatcher', () => {
  it('runs a call that finds no statement running at once, alone', async () => {
    const { statements, batcher: b } = batcher();
    const result = b.submit(1);
    expect(statements.statements).toEqual([[1]]);
    await statements.finishNext();
    await expect(result).resolves.toBe('row 1');
  });

  it('queues the calls made while a statement runs and sends them together as the next one', async () => {
    const { statements, batcher: b } = batcher();
    const results = [1, 2, 3, 4].map((i) => b.submit(i));
    expect(statements.statements).toEqual([[1]]);
    await statements.finishNext();
    expect(statements.statements).toEqual([[1], [2, 3, 4]]);
    const late = b.submit(5);
    expect(statements.statements).toHaveLength(2); // does not join the statement running
    await statements.finishNext();
    await statements.finishNext();
    expect(statements.statements).toEqual([[1], [2, 3, 4], [5]]);
    await expect(Promise.all([...results, late])).resolves.toEqual(['row 1', 'row 2', 'row 3', 'row 4', 'row 5']);
  });

  it('runs up to maxInFlight statements at once and caps a statement at maxBatch calls', async () => {
    const { statements, batcher: b } = batcher({ maxInFlight: 2, maxBatch: 2 });
    const results = [1, 2, 3, 4, 5, 6].map((i) => b.submit(i));
    expect(statements.statements).toEqual([[1], [2]]);
    await statements.finishNext();
    expect(statements.statements).toEqual([[1], [2], [3, 4]]);
    expect(statements.running).toBe(2);
    while (statements.running > 0) await statements.finishNext();
    expect(statements.statements).toEqual([[1], [2], [3, 4], [5, 6]]);
    await expect(Promise.all(results)).resolves.toEqual([1, 2, 3, 4, 5, 6].map((i) => `row ${i}`));
  });

  it('rejects every call of a failed statement, and goes on with the next', async () => {
    const { statements, batcher: b } = batcher();
    const settled = Promise.allSettled([b.submit(1), b.submit(2), b.submit(3)]);
    await statements.finishNext();
    await statements.finishNext(new Error('connection lost'));
    expect(await settled).toEqual([
      { status: 'fulfilled', value: 'row 1' },
      { status: 'rejected', reason: new Error('connection lost') },
      { status: 'rejected', reason: new Error('connection lost') },
    ]);
    const after = b.submit(4);
    await statements.finishNext();
    await expect(after).resolves.toBe('row 4');
  });

  it('runs the calls of a statement failed for its rows one by one when splitOn says so, so only the bad one fails', async () => {
    const { statements, batcher: b } = batcher({ splitOn: (error) => error instanceof Error && error.message === 'bad row' });
    const first = b.submit(1);
    const shared = [b.submit(2), b.submit(3), b.submit(4)];
    statements.failWith = (inputs) => (inputs.includes(3) ? new Error('bad row') : undefined);
    await statements.finishNext();
    await statements.finishNext();
    expect(statements.statements).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
    const settled = Promise.allSettled([first, ...shared]);
    while (statements.running > 0) await statements.finishNext();
    expect(await settled).toEqual([
      { status: 'fulfilled', value: 'row 1' },
      { status: 'fulfilled', value: 'row 2' },
      { status: 'rejected', reason: new Error('bad row') },
      { status: 'fulfilled', value: 'row 4' },
    ]);
  });

  it('rejects the calls when the statement answers a result count that does not match', async () => {
    const b = new StatementBatcher<number, string>(async (inputs) => (inputs.length > 1 ? ['only one'] : inputs.map((i) => `row ${i}`)));
    const mismatch = new Error('a batched statement answered 1 results for 2 calls');
    expect(await Promise.allSettled([b.submit(1), b.submit(2), b.submit(3)])).toEqual([
      { status: 'fulfilled', value: 'row 1' },
      { status: 'rejected', reason: mismatch },
      { status: 'rejected', reason: mismatch },
    ]);
  });
});
