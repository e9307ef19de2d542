/**
 * The one event-store port. Adapters: PostgreSQL (default) and EventStoreDB (when EVENTSTORE_URL
 * is set). Both pass the same contract suite (event-store.contract.ts).
 */

/** Position in the global log. Ordered by (commit, prepare); events are read strictly after it. */
export interface LogPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export const START: LogPosition = Object.freeze({ commit: -1n, prepare: -1n });

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** `no_stream`: the stream must not exist; a bigint: its last revision must be exactly this. */
export type ExpectedRevision = 'no_stream' | 'any' | bigint;

export interface EventToAppend {
  /** Unique per event; re-appending the same ids at the same place is an idempotent success. */
  readonly eventId: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface RecordedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly streamId: string;
  /** 0-based revision of the event within its stream. */
  readonly revision: bigint;
  readonly position: LogPosition;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
}

export interface AppendResult {
  /** Revision of the last event now in the stream: the expected revision for the next append. */
  readonly nextExpectedRevision: bigint;
  readonly position: LogPosition;
}

export class WrongExpectedRevisionError extends Error {
  readonly code = 'WRONG_EXPECTED_REVISION';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

export interface ReadStreamOptions {
  readonly fromRevision?: bigint;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. */
  readonly after: LogPosition;
  readonly maxCount: number;
}

export interface SubscribeToAllOptions {
  /** Exclusive: events strictly after this position. */
  readonly after: LogPosition;
  /** Upper bound of events yielded in one batch. */
  readonly maxBatch?: number;
}

/**
 * A live, ordered read of the global log: yields batches (never empty) of events in log order,
 * first catching up from `after`, then as new events commit. Ends when `close()` is called.
 */
export interface AllSubscription extends AsyncIterable<readonly RecordedEvent[]> {
  close(): Promise<void>;
}

export interface EventStore {
  appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult>;
  /** Events of one stream in revision order; an empty array when the stream does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options: SubscribeToAllOptions): AllSubscription;
  close(): Promise<void>;
}

export function formatPosition(p: LogPosition): string {
  return `${p.commit}/${p.prepare}`;
}

export function parsePosition(text: string): LogPosition {
  const match = /^(-?\d+)\/(-?\d+)$/.exec(text);
  if (!match) throw new Error(`not a log position: ${text}`);
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
}
