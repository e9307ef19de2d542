import type { Pool, QueryConfig } from 'pg';
import {
  START,
  WrongExpectedRevisionError,
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
import { MicroBatcher } from './micro-batcher';
import { PollingAllSubscription } from './polling-all-subscription';

export interface PostgresEventStoreOptions {
  /** End the pool in `close()`. False (the default) when the pool is shared with the service. */
  readonly ownsPool?: boolean;
  /** Idle wait of a caught-up subscription before it polls again. */
  readonly pollIntervalMs?: number;
  /** Batch size of `subscribeToAll` when the caller gives none. */
  readonly defaultMaxBatch?: number;
  /** Attempts of an append that keeps losing a race (`any` to a busy stream, a deadlock). */
  readonly maxRaceAttempts?: number;
  /**
   * Statements of appends (and of whole-stream reads) in flight at once. Calls beyond it wait and
   * share the next statement: one INSERT and one commit for many appends (group commit). 0 turns
   * batching off.
   */
  readonly maxConcurrentStatements?: number;
}

/**
 * Columns come back as text and are parsed here, whatever type parsers pg is configured with.
 * The aliases shadow the column names, so ORDER BY clauses name the table (`e.`) to sort by the
 * typed columns rather than by their text.
 */
const EVENT_COLUMNS = `global_position::text as global_position, transaction_id::text as transaction_id,
  stream_id, revision::text as revision, event_id::text as event_id, type,
  data::text as data, metadata::text as metadata, created_at`;

/**
 * One statement, one round trip: revisions expected+1.. (0.. for no_stream, passed as -1).
 * Revisions are dense, so "row at `expected` exists" plus "no row at expected+1" (the unique
 * constraint) means the stream is at exactly `expected`. `order by ord` fixes the order in
 * which identity values are drawn, so global positions follow revisions within a batch.
 */
const APPEND_EXPECTED: Omit<QueryConfig, 'values'> = {
  name: 'event_store_append_expected',
  text: `insert into events (stream_id, revision, event_id, type, data, metadata)
    select $1, $2::bigint + e.ord, e.event_id, e.type, e.data::jsonb, e.metadata::jsonb
    from unnest($3::uuid[], $4::text[], $5::text[], $6::text[])
      with ordinality as e(event_id, type, data, metadata, ord)
    where $2::bigint < 0 or exists (select 1 from events where stream_id = $1 and revision = $2::bigint)
    order by e.ord
    returning revision::text as revision, transaction_id::text as transaction_id,
      global_position::text as global_position`,
};

/** `any`: the current revision is read by the inserting statement itself; a lost race is a unique violation. */
const APPEND_ANY: Omit<QueryConfig, 'values'> = {
  name: 'event_store_append_any',
  text: `insert into events (stream_id, revision, event_id, type, data, metadata)
    select $1, coalesce((select max(revision) from events where stream_id = $1), -1) + e.ord,
      e.event_id, e.type, e.data::jsonb, e.metadata::jsonb
    from unnest($2::uuid[], $3::text[], $4::text[], $5::text[])
      with ordinality as e(event_id, type, data, metadata, ord)
    order by e.ord
    returning revision::text as revision, transaction_id::text as transaction_id,
      global_position::text as global_position`,
};

/**
 * Many expected-revision appends in one statement. Each event row carries its append's index
 * (`item`); an append whose expectation fails inserts nothing (the exists check), one that
 * collides inserts nothing (`on conflict do nothing`); each is then resolved like a single
 * append. An append with some rows in and some not is impossible to keep: the batch's
 * transaction is rolled back and its appends are retried one by one.
 */
const APPEND_BATCH = `insert into events (stream_id, revision, event_id, type, data, metadata)
    select i.stream_id, i.expected + i.ord, i.event_id, i.type, i.data::jsonb, i.metadata::jsonb
    from unnest($1::int[], $2::text[], $3::bigint[], $4::int[], $5::uuid[], $6::text[], $7::text[], $8::text[])
      as i(item, stream_id, expected, ord, event_id, type, data, metadata)
    where i.expected < 0 or exists (select 1 from events e where e.stream_id = i.stream_id and e.revision = i.expected)
    order by i.item, i.ord
    on conflict do nothing
    returning event_id::text as event_id, revision::text as revision, transaction_id::text as transaction_id,
      global_position::text as global_position`;

const READ_STREAMS = `select ${EVENT_COLUMNS} from events e where e.stream_id = any($1::text[]) order by e.stream_id, e.revision`;

const STREAM_HEAD: Omit<QueryConfig, 'values'> = {
  name: 'event_store_stream_head',
  text: `select revision::text as revision, transaction_id::text as transaction_id,
      global_position::text as global_position
    from events e where e.stream_id = $1 order by e.revision desc limit 1`,
};

const EVENTS_BY_ID: Omit<QueryConfig, 'values'> = {
  name: 'event_store_events_by_id',
  text: `select event_id::text as event_id, stream_id, revision::text as revision,
      transaction_id::text as transaction_id, global_position::text as global_position
    from events where event_id = any($1::uuid[])`,
};

const READ_STREAM: Omit<QueryConfig, 'values'> = {
  name: 'event_store_read_stream',
  text: `select ${EVENT_COLUMNS} from events e
    where e.stream_id = $1 and e.revision >= $2::bigint
    order by e.revision limit $3`,
};

/**
 * Only events of transactions below the oldest one still in flight are returned: every event
 * committed later belongs to a transaction id >= that horizon, so it sorts after anything
 * returned here and a reader advancing its position can never skip it.
 */
const READ_ALL: Omit<QueryConfig, 'values'> = {
  name: 'event_store_read_all',
  text: `select ${EVENT_COLUMNS} from events e
    where (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint)
      and e.transaction_id < (select pg_snapshot_xmin(pg_current_snapshot()))
    order by e.transaction_id, e.global_position
    limit $3`,
};

const UNIQUE_VIOLATION = '23505';
const DEADLOCK_DETECTED = '40P01';
const STREAM_REVISION_CONSTRAINT = 'events_stream_revision_unique';
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface EncodedEvents {
  readonly ids: string[];
  readonly types: string[];
  readonly data: string[];
  readonly metadata: string[];
}

interface PendingAppend {
  readonly streamId: string;
  /** -1 for no_stream. */
  readonly expected: bigint;
  readonly encoded: EncodedEvents;
}

interface AppendedRow {
  readonly revision: bigint;
  readonly position: LogPosition;
}

export class PostgresEventStore implements EventStore {
  private readonly ownsPool: boolean;
  private readonly pollIntervalMs: number;
  private readonly defaultMaxBatch: number;
  private readonly maxRaceAttempts: number;
  private readonly subscriptions = new Set<AllSubscription>();
  private readonly appends: MicroBatcher<PendingAppend, Record<string, unknown>[]> | null;
  private readonly streamReads: MicroBatcher<string, RecordedEvent[]> | null;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    this.ownsPool = options.ownsPool ?? false;
    this.pollIntervalMs = options.pollIntervalMs ?? 10;
    this.defaultMaxBatch = options.defaultMaxBatch ?? 500;
    this.maxRaceAttempts = options.maxRaceAttempts ?? 100;
    const concurrency = options.maxConcurrentStatements ?? 4;
    this.appends = concurrency > 0 ? new MicroBatcher((items) => this.appendBatch(items), concurrency, 200) : null;
    this.streamReads = concurrency > 0 ? new MicroBatcher((ids) => this.readStreams(ids), concurrency, 200) : null;
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
    const encoded = encodeEvents(events);

    if (expected !== 'any') {
      const rows = this.appends
        ? await this.appends.submit({ streamId, expected: expected === 'no_stream' ? -1n : expected, encoded })
        : await this.appendExpectedOnce(streamId, expected === 'no_stream' ? -1n : expected, encoded);
      const last = lastAppended(rows);
      if (last) return { nextExpectedRevision: last.revision, position: last.position };
      // Nothing went in: the retry of an append that succeeded, or a real conflict.
      const resolution = await this.resolveConflict(streamId, expected, encoded.ids);
      if (resolution.kind === 'already_appended') return resolution.result;
      throw new WrongExpectedRevisionError(streamId, expected, resolution.actual);
    }

    for (let attempt = 1; ; attempt++) {
      let rows: Record<string, unknown>[];
      try {
        rows = await this.query(APPEND_ANY, [streamId, encoded.ids, encoded.types, encoded.data, encoded.metadata]);
      } catch (error) {
        const code = pgErrorCode(error);
        if (code === DEADLOCK_DETECTED && attempt < this.maxRaceAttempts) continue;
        if (code !== UNIQUE_VIOLATION) throw error;
        const resolution = await this.resolveConflict(streamId, expected, encoded.ids);
        if (resolution.kind === 'already_appended') return resolution.result;
        const lostRace = pgConstraint(error) === STREAM_REVISION_CONSTRAINT;
        if (lostRace && attempt < this.maxRaceAttempts) continue;
        throw new WrongExpectedRevisionError(streamId, expected, resolution.actual);
      }
      const last = lastAppended(rows);
      if (!last) throw new WrongExpectedRevisionError(streamId, expected, await this.currentRevision(streamId));
      return { nextExpectedRevision: last.revision, position: last.position };
    }
  }

  /** One expected-revision append as its own statement: its rows, or none on any conflict. */
  private async appendExpectedOnce(streamId: string, expected: bigint, encoded: EncodedEvents): Promise<Record<string, unknown>[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.query(APPEND_EXPECTED, [streamId, String(expected), encoded.ids, encoded.types, encoded.data, encoded.metadata]);
      } catch (error) {
        const code = pgErrorCode(error);
        if (code === DEADLOCK_DETECTED && attempt < this.maxRaceAttempts) continue;
        if (code === UNIQUE_VIOLATION) return [];
        throw error;
      }
    }
  }

  private async appendBatch(
    items: PendingAppend[],
  ): Promise<Array<{ ok: true; value: Record<string, unknown>[] } | { ok: false; error: unknown }>> {
    const one = (item: PendingAppend) =>
      this.appendExpectedOnce(item.streamId, item.expected, item.encoded).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    if (items.length === 1) return [await one(items[0]!)];

    const columns = { item: [] as number[], stream: [] as string[], expected: [] as string[], ord: [] as number[], ids: [] as string[], types: [] as string[], data: [] as string[], metadata: [] as string[] };
    items.forEach((item, index) => {
      item.encoded.ids.forEach((id, i) => {
        columns.item.push(index);
        columns.stream.push(item.streamId);
        columns.expected.push(String(item.expected));
        columns.ord.push(i + 1);
        columns.ids.push(id);
        columns.types.push(item.encoded.types[i]!);
        columns.data.push(item.encoded.data[i]!);
        columns.metadata.push(item.encoded.metadata[i]!);
      });
    });
    const params = [columns.item, columns.stream, columns.expected, columns.ord, columns.ids, columns.types, columns.data, columns.metadata];
    if (items.every((item) => item.encoded.ids.length === 1)) {
      // One event per append: no append can be half in, so the statement needs no transaction of its own.
      let single: Record<string, unknown>[];
      try {
        single = (await this.pool.query(APPEND_BATCH, params)).rows;
      } catch (error) {
        if (pgErrorCode(error) === DEADLOCK_DETECTED) return Promise.all(items.map(one));
        throw error;
      }
      const found = new Map(single.map((r) => [text(r, 'event_id').toLowerCase(), r]));
      return items.map((item) => {
        const row = found.get(item.encoded.ids[0]!.toLowerCase());
        return { ok: true as const, value: row ? [row] : [] };
      });
    }
    const client = await this.pool.connect();
    let rows: Record<string, unknown>[];
    try {
      await client.query('begin');
      try {
        const result = await client.query(APPEND_BATCH, params);
        rows = result.rows;
      } catch (error) {
        await client.query('rollback');
        if (pgErrorCode(error) === DEADLOCK_DETECTED) return Promise.all(items.map(one));
        throw error;
      }
      const byId = new Map(rows.map((r) => [text(r, 'event_id').toLowerCase(), r]));
      const perItem = items.map((item) => item.encoded.ids.map((id) => byId.get(id.toLowerCase())).filter((r) => r !== undefined));
      if (perItem.some((r, i) => r.length > 0 && r.length < items[i]!.encoded.ids.length)) {
        await client.query('rollback');
        return Promise.all(items.map(one));
      }
      await client.query('commit');
      return perItem.map((value) => ({ ok: true as const, value }));
    } finally {
      client.release();
    }
  }

  private async readStreams(streamIds: string[]): Promise<Array<{ ok: true; value: RecordedEvent[] }>> {
    const unique = [...new Set(streamIds)];
    const rows = (await this.pool.query(READ_STREAMS, [unique])).rows.map(parseEventRow);
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of rows) {
      const list = byStream.get(event.streamId);
      if (list) list.push(event);
      else byStream.set(event.streamId, [event]);
    }
    return streamIds.map((id) => ({ ok: true as const, value: byStream.get(id) ?? [] }));
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (this.streamReads && options.fromRevision === undefined && options.maxCount === undefined) {
      return this.streamReads.submit(streamId);
    }
    const from = options.fromRevision ?? 0n;
    const maxCount = options.maxCount;
    if (maxCount !== undefined) assertCount('maxCount', maxCount);
    const rows = await this.query(READ_STREAM, [streamId, String(from < 0n ? 0n : from), maxCount ?? null]);
    return rows.map(parseEventRow);
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    assertCount('maxCount', options.maxCount);
    // START (commit -1) sorts before every real event: no transaction has id 0.
    const after = options.after.commit < 0n ? { commit: 0n, prepare: -1n } : options.after;
    const rows = await this.query(READ_ALL, [String(after.commit), String(after.prepare), options.maxCount]);
    return rows.map(parseEventRow);
  }

  subscribeToAll(options: SubscribeToAllOptions): AllSubscription {
    if (this.closed) throw new Error('event store is closed');
    const subscription: AllSubscription = new PollingAllSubscription({
      readAfter: (after, maxCount) => this.readAll({ after, maxCount }),
      after: options.after,
      maxBatch: options.maxBatch ?? this.defaultMaxBatch,
      pollIntervalMs: this.pollIntervalMs,
      onEnd: () => this.subscriptions.delete(subscription),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    if (this.ownsPool) await this.pool.end();
  }

  private async checkEmptyAppend(streamId: string, expected: ExpectedRevision): Promise<AppendResult> {
    const head = lastAppended(await this.query(STREAM_HEAD, [streamId]));
    const actual = head ? head.revision : 'no_stream';
    if (expected !== 'any' && expected !== actual) throw new WrongExpectedRevisionError(streamId, expected, actual);
    return head ? { nextExpectedRevision: head.revision, position: head.position } : { nextExpectedRevision: -1n, position: START };
  }

  private async currentRevision(streamId: string): Promise<bigint | 'no_stream'> {
    const head = lastAppended(await this.query(STREAM_HEAD, [streamId]));
    return head ? head.revision : 'no_stream';
  }

  /**
   * A unique violation is either a real conflict or the retry of an append that already
   * succeeded: the latter holds when every id is in this stream, in order, at the revisions the
   * expectation implies (consecutive revisions for `any`).
   */
  private async resolveConflict(
    streamId: string,
    expected: ExpectedRevision,
    ids: readonly string[],
  ): Promise<{ kind: 'already_appended'; result: AppendResult } | { kind: 'conflict'; actual: bigint | 'no_stream' }> {
    const [found, head] = await Promise.all([this.query(EVENTS_BY_ID, [ids]), this.query(STREAM_HEAD, [streamId])]);
    const headRow = lastAppended(head);
    const actual = headRow ? headRow.revision : 'no_stream';
    const byId = new Map<string, { streamId: string; revision: bigint; position: LogPosition }>();
    for (const row of found) {
      byId.set(text(row, 'event_id').toLowerCase(), {
        streamId: text(row, 'stream_id'),
        revision: BigInt(text(row, 'revision')),
        position: positionOf(row),
      });
    }
    const first = byId.get(ids[0]!.toLowerCase());
    if (!first || first.streamId !== streamId) return { kind: 'conflict', actual };
    const firstRevision = expected === 'any' ? first.revision : expected === 'no_stream' ? 0n : expected + 1n;
    let last: { revision: bigint; position: LogPosition } | undefined;
    for (const [index, id] of ids.entries()) {
      const row = byId.get(id.toLowerCase());
      if (!row || row.streamId !== streamId || row.revision !== firstRevision + BigInt(index)) {
        return { kind: 'conflict', actual };
      }
      last = row;
    }
    return { kind: 'already_appended', result: { nextExpectedRevision: last!.revision, position: last!.position } };
  }

  private async query(config: Omit<QueryConfig, 'values'>, values: unknown[]): Promise<Record<string, unknown>[]> {
    const result = await this.pool.query<Record<string, unknown>>({ ...config, values });
    return result.rows;
  }
}

function encodeEvents(events: readonly EventToAppend[]): EncodedEvents {
  const encoded: EncodedEvents = { ids: [], types: [], data: [], metadata: [] };
  const seen = new Set<string>();
  for (const event of events) {
    if (!UUID_PATTERN.test(event.eventId)) throw new TypeError(`event id is not a uuid: ${event.eventId}`);
    const id = event.eventId.toLowerCase();
    if (seen.has(id)) throw new TypeError(`event id ${event.eventId} appears twice in one append`);
    seen.add(id);
    const data = JSON.stringify(event.data);
    if (data === undefined) throw new TypeError(`event ${event.eventId}: data is not JSON-serialisable`);
    encoded.ids.push(id);
    encoded.types.push(event.type);
    encoded.data.push(data);
    encoded.metadata.push(JSON.stringify(event.metadata ?? {}));
  }
  return encoded;
}

function lastAppended(rows: readonly Record<string, unknown>[]): AppendedRow | undefined {
  let last: AppendedRow | undefined;
  for (const row of rows) {
    const revision = BigInt(text(row, 'revision'));
    if (!last || revision > last.revision) last = { revision, position: positionOf(row) };
  }
  return last;
}

function positionOf(row: Record<string, unknown>): LogPosition {
  return { commit: BigInt(text(row, 'transaction_id')), prepare: BigInt(text(row, 'global_position')) };
}

function parseEventRow(row: Record<string, unknown>): RecordedEvent {
  const eventId = text(row, 'event_id');
  const metadata: unknown = JSON.parse(text(row, 'metadata'));
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new Error(`event ${eventId}: metadata is not a JSON object`);
  }
  const createdAt = row['created_at'];
  return {
    eventId,
    type: text(row, 'type'),
    streamId: text(row, 'stream_id'),
    revision: BigInt(text(row, 'revision')),
    position: positionOf(row),
    data: JSON.parse(text(row, 'data')) as unknown,
    metadata: metadata as Record<string, unknown>,
    createdAt: createdAt instanceof Date ? createdAt : new Date(text(row, 'created_at')),
  };
}

function text(row: Record<string, unknown>, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`events.${column}: expected text, got ${typeof value}`);
  return value;
}

function assertCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

function pgErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function pgConstraint(error: unknown): string | undefined {
  const constraint = (error as { constraint?: unknown } | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
