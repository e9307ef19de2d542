import { GroupCommit } from './group-commit';

function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('GroupCommit', () => {
  it('writes the first submit at once and groups those that arrive while it runs', async () => {
    const writes: number[][] = [];
    const gates: ReturnType<typeof deferred>[] = [];
    const batcher = new GroupCommit<number>((items) => {
      writes.push(items);
      const gate = deferred();
      gates.push(gate);
      return gate.promise;
    }, 1, 100);
    const first = batcher.submit([1]);
    const rest = [batcher.submit([2, 3]), batcher.submit([4])];
    expect(writes).toEqual([[1]]);
    gates[0]!.resolve();
    await first;
    await Promise.resolve();
    expect(writes).toEqual([[1], [2, 3, 4]]);
    gates[1]!.resolve();
    await Promise.all(rest);
  });

  it('keeps a group within maxItems', async () => {
    const writes: number[][] = [];
    const gate = deferred();
    const batcher = new GroupCommit<number>(async (items) => {
      writes.push(items);
      await gate.promise;
    }, 1, 3);
    const all = [batcher.submit([0]), batcher.submit([1, 2]), batcher.submit([3, 4]), batcher.submit([5])];
    gate.resolve();
    await Promise.all(all);
    expect(writes).toEqual([[0], [1, 2], [3, 4, 5]]);
  });

  it('fails every submit of a failed write, and goes on with the next', async () => {
    let calls = 0;
    const gate = deferred();
    const batcher = new GroupCommit<number>(async () => {
      calls += 1;
      if (calls === 1) await gate.promise;
      if (calls === 2) throw new Error('connection reset');
    }, 1, 10);
    const first = batcher.submit([1]);
    const failed = [batcher.submit([2]), batcher.submit([3])];
    gate.resolve();
    await first;
    await expect(failed[0]).rejects.toThrow('connection reset');
    await expect(failed[1]).rejects.toThrow('connection reset');
    await expect(batcher.submit([4])).resolves.toBeUndefined();
  });

  it('resolves an empty submit without writing', async () => {
    const write = jest.fn(async () => undefined);
    await new GroupCommit<number>(write, 1, 10).submit([]);
    expect(write).not.toHaveBeenCalled();
  });
});
