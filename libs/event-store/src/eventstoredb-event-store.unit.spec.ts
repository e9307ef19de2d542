import { PassThrough } from 'node:stream';
import {
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type EventStoreDBClient,
  type Position,
} from '@eventstore/db-client';
import { START, WrongExpectedRevisionError, type RecordedEvent } from './event-store.port';
import { EventStoreDbEventStore } from './eventstoredb-event-store';

/**
 * The adapter's own mapping logic against a scripted client: what the EventStoreDB contract
 * suite cannot show where no EventStoreDB is reachable. The fake mimics the client's
 * documented behaviour: readAll's fromPosition is inclusive, subscriptions are streams.
 */
describe('EventStoreDbEventStore mapping', () => {
  it('appends JSON events with their ids and maps the expected revision', async () => {
    const appendToStream = jest.fn(async () => ({ success: true, nextExpectedRevision: 3n, position: { commit: 10n, prepare: 9n } }));
    const store = new EventStoreDbEventStore(fakeClient({ appendToStream }));
    const eventId = '0b9f6c7e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';

    const result = await store.appendToStream('s-1', [{ eventId, type: 'Happened', data: { a: 1 }, metadata: { m: 'x' } }], {
      expectedRevision: 2n,
    });
    await store.appendToStream('s-1', [{ eventId, type: 'Happened', data: {} }], { expectedRevision: 'no_stream' });
    await store.appendToStream('s-1', [{ eventId, type: 'Happened', data: {} }], { expectedRevision: 'any' });

    expect(result).toEqual({ nextExpectedRevision: 3n, position: { commit: 10n, prepare: 9n } });
    const calls = appendToStream.mock.calls as unknown as [string, unknown[], { expectedRevision: unknown }][];
    expect(calls[0]![0]).toBe('s-1');
    expect(calls[0]![1]).toEqual([{ id: eventId, contentType: 'application/json', type: 'Happened', data: { a: 1 }, metadata: { m: 'x' } }]);
    expect(calls.map((call) => call[2].expectedRevision)).toEqual([2n, 'no_stream', 'any']);
  });

  it('turns a wrong expected version into the typed conflict with the actual revision', async () => {
    const versions = [5n, 'no_stream'] as const;
    for (const current of versions) {
      const appendToStream = jest.fn(async () => {
        throw new WrongExpectedVersionError(undefined, { streamName: 's-2', expected: 1n, current });
      });
      const store = new EventStoreDbEventStore(fakeClient({ appendToStream }));

      const error = await store
        .appendToStream('s-2', [{ eventId: '0b9f6c7e-1d2a-4c3b-9e8f-7a6b5c4d3e2f', type: 'T', data: {} }], { expectedRevision: 1n })
        .catch((reason: unknown) => reason);

      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ streamId: 's-2', expected: 1n, actual: current });
    }
  });

  it('reads a missing stream as empty', async () => {
    const readStream = jest.fn(() =>
      (async function* () {
        yield* [];
        throw new StreamNotFoundError(undefined, 'nope');
      })(),
    );
    const store = new EventStoreDbEventStore(fakeClient({ readStream }));

    expect(await store.readStream('nope')).toEqual([]);
  });

  it('reads $all strictly after the position, without system events, across pages', async () => {
    const log = [userEvent(1), systemEvent(2), userEvent(3), systemEvent(4), systemEvent(5), userEvent(6), userEvent(7)];
    const readAll = jest.fn(({ fromPosition, maxCount }: { fromPosition: 'start' | Position; maxCount: number }) =>
      (async function* () {
        const from = fromPosition === 'start' ? -1n : fromPosition.commit;
        yield* log.filter((event) => event.event!.position.commit >= from).slice(0, maxCount);
      })(),
    );
    const store = new EventStoreDbEventStore(fakeClient({ readAll }));

    const fromStart = await store.readAll({ after: START, maxCount: 10 });
    const afterThird = await store.readAll({ after: { commit: 3n, prepare: 3n }, maxCount: 2 });
    const afterLast = await store.readAll({ after: { commit: 7n, prepare: 7n }, maxCount: 5 });

    expect(fromStart.map((event) => event.position.commit)).toEqual([1n, 3n, 6n, 7n]);
    expect(readAll.mock.calls[0]![0].fromPosition).toBe('start');
    expect(afterThird.map((event) => event.position.commit)).toEqual([6n, 7n]);
    expect(afterLast).toEqual([]);
  });

  it('batches what the subscription has buffered and ends when closed, also while waiting', async () => {
    const source = Object.assign(new PassThrough({ objectMode: true }), { unsubscribe: jest.fn(async () => undefined) });
    const subscribeToAll = jest.fn(() => source);
    const store = new EventStoreDbEventStore(fakeClient({ subscribeToAll }));
    const subscription = store.subscribeToAll({ after: { commit: 1n, prepare: 1n }, maxBatch: 2 });
    const batches: RecordedEvent[][] = [];
    const done = (async () => {
      for await (const batch of subscription) batches.push([...batch]);
    })();

    for (const event of [userEvent(1), userEvent(2), systemEvent(3), userEvent(4), userEvent(5)]) source.write(event);
    await waitFor(() => batches.flat().length === 3);
    source.write(userEvent(6));
    await waitFor(() => batches.flat().length === 4);
    await subscription.close();
    await done;
    await subscription.close();

    expect(batches.flat().map((event) => event.position.commit)).toEqual([2n, 4n, 5n, 6n]);
    expect(batches.every((batch) => batch.length >= 1 && batch.length <= 2)).toBe(true);
    expect(subscribeToAll.mock.calls[0]).toEqual([expect.objectContaining({ fromPosition: { commit: 1n, prepare: 1n } })]);
    expect(source.unsubscribe).toHaveBeenCalledTimes(1);
  });
});

function fakeClient(methods: Record<string, unknown>): EventStoreDBClient {
  return methods as unknown as EventStoreDBClient;
}

function userEvent(n: number): AllStreamResolvedEvent {
  return resolved(n, `user-${n}`, 'Happened');
}

function systemEvent(n: number): AllStreamResolvedEvent {
  return resolved(n, n % 2 === 0 ? `$stats-${n}` : `user-${n}`, '$metadata');
}

function resolved(n: number, streamId: string, type: string): AllStreamResolvedEvent {
  return {
    event: {
      streamId,
      id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      isJson: true,
      revision: 0n,
      type,
      created: new Date(0),
      data: { n },
      metadata: undefined,
      position: { commit: BigInt(n), prepare: BigInt(n) },
    },
  };
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !condition(); attempt++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}
