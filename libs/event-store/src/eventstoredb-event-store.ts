import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START as ESDB_START,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type JSONType,
  type ReadPosition,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  START,
  WrongExpectedRevisionError,
  comparePositions,
  type AllSubscription,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type LogPosition,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
} from './event-store.port';

export interface EventStoreDbEventStoreOptions {
  /** Dispose of the client in `close()`. */
  readonly ownsClient?: boolean;
  /** Batch size of `subscribeToAll` when the caller gives none. */
  readonly defaultMaxBatch?: number;
}

/** Error `type`s of @eventstore/db-client (its ErrorType enum), matched by value so that a second copy of the client still maps. */
const WRONG_EXPECTED_VERSION = 'wrong-expected-version';
const STREAM_NOT_FOUND = 'stream-not-found';

export class EventStoreDbEventStore implements EventStore {
  private readonly ownsClient: boolean;
  private readonly defaultMaxBatch: number;
  private readonly subscriptions = new Set<AllSubscription>();
  private closed = false;

  constructor(
    private readonly client: EventStoreDBClient,
    options: EventStoreDbEventStoreOptions = {},
  ) {
    this.ownsClient = options.ownsClient ?? false;
    this.defaultMaxBatch = options.defaultMaxBatch ?? 500;
  }

  /** A store owning its client, e.g. from `esdb://eventstore:2113?tls=false`. */
  static fromConnectionString(url: string, options: Omit<EventStoreDbEventStoreOptions, 'ownsClient'> = {}): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(url), { ...options, ownsClient: true });
  }

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    const expected = options.expectedRevision;
    if (typeof expected === 'bigint' && expected < 0n) {
      throw new RangeError(`expected revision must be >= 0, 'no_stream' or 'any', got ${expected}`);
    }
    if (events.length === 0) return this.checkEmptyAppend(streamId, expected);
    try {
      // The server treats a retry of an append that already succeeded (same ids, same place) as a success.
      const result = await this.client.appendToStream(streamId, events.map(toEventData), {
        expectedRevision: toClientExpectedRevision(expected),
      });
      const position = result.position ?? (await this.streamHead(streamId))?.position ?? START;
      return { nextExpectedRevision: result.nextExpectedRevision, position: copyPosition(position) };
    } catch (error) {
      if (errorType(error) === WRONG_EXPECTED_VERSION) {
        const actual = (error as { actualVersion?: unknown }).actualVersion;
        throw new WrongExpectedRevisionError(streamId, expected, typeof actual === 'bigint' && actual >= 0n ? actual : 'no_stream');
      }
      throw error;
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        direction: FORWARDS,
        fromRevision: options.fromRevision !== undefined && options.fromRevision > 0n ? options.fromRevision : ESDB_START,
        ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
      });
      for await (const resolved of read) {
        const event = toRecordedEvent(resolved);
        if (event) events.push(event);
      }
    } catch (error) {
      if (errorType(error) === STREAM_NOT_FOUND) return [];
      throw error;
    }
    return events;
  }

  /**
   * The client's `fromPosition` is inclusive and $all holds system events, so pages are read
   * with one event of slack and anything at or before the last position seen is skipped.
   */
  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    assertCount('maxCount', options.maxCount);
    const events: RecordedEvent[] = [];
    let seen = options.after;
    let from: ReadPosition = isStart(options.after) ? ESDB_START : copyPosition(options.after);
    while (events.length < options.maxCount) {
      const pageSize = options.maxCount - events.length + 1;
      let received = 0;
      let lastInPage: LogPosition | undefined;
      for await (const resolved of this.client.readAll({ direction: FORWARDS, fromPosition: from, maxCount: pageSize })) {
        received++;
        const position = resolved.event?.position;
        if (!position) continue;
        lastInPage = position;
        if (comparePositions(position, seen) <= 0) continue;
        seen = position;
        const event = toRecordedEvent(resolved);
        if (event) events.push(event);
        if (events.length === options.maxCount) break;
      }
      if (received < pageSize || !lastInPage) break;
      from = copyPosition(lastInPage);
    }
    return events;
  }

  subscribeToAll(options: SubscribeToAllOptions): AllSubscription {
    if (this.closed) throw new Error('event store is closed');
    const subscription: AllSubscription = new EventStoreDbAllSubscription(
      this.client,
      options.after,
      options.maxBatch ?? this.defaultMaxBatch,
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    if (this.ownsClient) await this.client.dispose();
  }

  private async checkEmptyAppend(streamId: string, expected: ExpectedRevision): Promise<AppendResult> {
    const head = await this.streamHead(streamId);
    const actual = head ? head.revision : 'no_stream';
    if (expected !== 'any' && expected !== actual) throw new WrongExpectedRevisionError(streamId, expected, actual);
    return head ? { nextExpectedRevision: head.revision, position: head.position } : { nextExpectedRevision: -1n, position: START };
  }

  private async streamHead(streamId: string): Promise<RecordedEvent | undefined> {
    try {
      for await (const resolved of this.client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
        const event = toRecordedEvent(resolved);
        if (event) return event;
      }
    } catch (error) {
      if (errorType(error) === STREAM_NOT_FOUND) return undefined;
      throw error;
    }
    return undefined;
  }
}

/**
 * Batches a catch-up subscription: each batch is whatever the client has buffered (up to
 * `maxBatch`), so a busy log gives large batches and an idle one gives events as they come.
 */
class EventStoreDbAllSubscription implements AllSubscription {
  private closed = false;
  private iterated = false;
  private signalled = false;
  private wake: (() => void) | null = null;
  private source: AllStreamSubscription | null = null;
  private released: Promise<void> | null = null;
  private failure: Error | null = null;
  private seen: LogPosition;

  constructor(
    private readonly client: EventStoreDBClient,
    after: LogPosition,
    private readonly maxBatch: number,
    private readonly onEnd: () => void,
  ) {
    assertCount('maxBatch', maxBatch);
    this.seen = after;
  }

  [Symbol.asyncIterator](): AsyncIterator<readonly RecordedEvent[]> {
    if (this.iterated) throw new Error('an AllSubscription can be iterated only once');
    this.iterated = true;
    return this.batches();
  }

  /** Ends the iteration promptly, also while it waits for new events; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.signal();
    await this.release();
  }

  private async *batches(): AsyncGenerator<readonly RecordedEvent[], void, undefined> {
    if (this.closed) return;
    // The subscription's start is exclusive; events at or before `after` are skipped anyway.
    const source = this.client.subscribeToAll({
      fromPosition: isStart(this.seen) ? ESDB_START : copyPosition(this.seen),
      filter: excludeSystemEvents(),
    });
    this.source = source;
    const signal = (): void => this.signal();
    source.on('readable', signal);
    source.on('end', signal);
    source.on('close', signal);
    source.on('error', (error: Error) => {
      this.failure = error;
      this.signal();
    });
    try {
      while (!this.closed) {
        const batch: RecordedEvent[] = [];
        while (batch.length < this.maxBatch) {
          const resolved = source.read() as AllStreamResolvedEvent | null;
          if (resolved === null) break;
          const event = toRecordedEvent(resolved);
          if (!event || comparePositions(event.position, this.seen) <= 0) continue;
          this.seen = event.position;
          batch.push(event);
        }
        if (this.closed) return;
        if (batch.length > 0) {
          yield batch;
          continue;
        }
        if (this.failure) throw this.failure;
        if (source.readableEnded || source.destroyed) throw new Error('EventStoreDB subscription to $all ended');
        await this.nextSignal();
      }
    } finally {
      this.closed = true;
      await this.release();
    }
  }

  private signal(): void {
    this.signalled = true;
    this.wake?.();
  }

  private nextSignal(): Promise<void> {
    if (this.signalled) {
      this.signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = null;
        this.signalled = false;
        resolve();
      };
    });
  }

  private release(): Promise<void> {
    this.released ??= (async () => {
      const source = this.source;
      try {
        if (source) {
          await source.unsubscribe();
          source.destroy();
        }
      } finally {
        this.onEnd();
      }
    })();
    return this.released;
  }
}

function toEventData(event: EventToAppend) {
  return jsonEvent({
    id: event.eventId,
    type: event.type,
    // The client serialises `data` with JSON.stringify whatever its static type says.
    data: event.data as JSONType,
    ...(event.metadata !== undefined ? { metadata: event.metadata } : {}),
  });
}

function toClientExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'any') return ANY;
  return expected;
}

/** Null for system events (`$`-prefixed type or stream) and unresolved links. */
function toRecordedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | null {
  const event = resolved.event;
  if (!event || event.type.startsWith('$') || event.streamId.startsWith('$')) return null;
  if (!event.position) {
    throw new Error(`EventStoreDB returned event ${event.id} without a log position (server older than 22.6?)`);
  }
  const metadata = event.metadata;
  return {
    eventId: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: event.revision,
    position: copyPosition(event.position),
    data: event.data,
    metadata: isRecord(metadata) ? metadata : {},
    createdAt: event.created,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function isStart(position: LogPosition): boolean {
  return position.commit < 0n;
}

function copyPosition(position: LogPosition): LogPosition {
  return { commit: position.commit, prepare: position.prepare };
}

function errorType(error: unknown): unknown {
  return (error as { type?: unknown } | null)?.type;
}

function assertCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}
