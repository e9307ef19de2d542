import {
  DiscardPolicy,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import type { Logger } from 'pino';
import type { NatsNames } from '@reach/contracts';
import { isAlreadyExists, isStreamNotFound } from './nats-errors';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Publishes repeated within this window with the same `Nats-Msg-Id` are stored once. */
export const duplicateWindowMs = 10 * MINUTE_MS;

export interface TopologyOptions {
  /** How long relayed events stay in the events stream. Default 7 days. */
  readonly eventsMaxAgeMs?: number;
  /** How long commands stay in the commands stream. Default 7 days. */
  readonly commandsMaxAgeMs?: number;
  /** How long dead letters are kept for inspection and replay. Default 30 days. */
  readonly deadLetterMaxAgeMs?: number;
  /** Replicas of every stream and bucket (1 for a single server, 3 for a cluster). Default 1. */
  readonly replicas?: number;
  readonly logger?: Logger;
}

/** The stream configuration this library owns; anything else on an existing stream is left alone. */
type ManagedStreamConfig = Pick<
  StreamConfig,
  'name' | 'subjects' | 'storage' | 'retention' | 'discard' | 'max_age' | 'duplicate_window' | 'num_replicas'
>;

export function topologyStreamConfigs(names: NatsNames, options: TopologyOptions = {}): ManagedStreamConfig[] {
  const replicas = options.replicas ?? 1;
  const stream = (name: string, subject: string, maxAgeMs: number): ManagedStreamConfig => ({
    name,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(Math.min(duplicateWindowMs, maxAgeMs)),
    num_replicas: replicas,
  });
  return [
    stream(names.eventsStream, names.allEvents, options.eventsMaxAgeMs ?? 7 * DAY_MS),
    stream(names.commandsStream, names.allCommands, options.commandsMaxAgeMs ?? 7 * DAY_MS),
    stream(names.deadLetterStream, names.allDeadLetters, options.deadLetterMaxAgeMs ?? 30 * DAY_MS),
  ];
}

/**
 * Creates or updates the platform's streams and the presence bucket. Idempotent and safe to
 * run from several processes at once (every service runs it at start): a create that loses a
 * race to an identical create succeeds, one that loses to a different configuration updates.
 */
export async function ensureTopology(nc: NatsConnection, names: NatsNames, options: TopologyOptions = {}): Promise<void> {
  const jsm = await nc.jetstreamManager();
  for (const config of topologyStreamConfigs(names, options)) {
    await ensureStream(jsm, config, options.logger);
  }
  await ensurePresenceBucket(nc, names, options);
}

async function ensureStream(jsm: JetStreamManager, desired: ManagedStreamConfig, logger?: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const existing = await streamConfigOrNull(jsm, desired.name);
    if (existing === null) {
      try {
        await jsm.streams.add(desired);
        logger?.info({ stream: desired.name }, 'stream created');
        return;
      } catch (error) {
        if (isAlreadyExists(error) && attempt < 3) continue;
        throw new Error(`cannot create stream ${desired.name}: ${String(error)}`, { cause: error });
      }
    }
    if (sameManagedConfig(existing, desired)) return;
    try {
      await jsm.streams.update(desired.name, desired);
      logger?.info({ stream: desired.name }, 'stream configuration updated');
      return;
    } catch (error) {
      if (isStreamNotFound(error) && attempt < 3) continue;
      throw new Error(`cannot update stream ${desired.name}: ${String(error)}`, { cause: error });
    }
  }
}

async function streamConfigOrNull(jsm: JetStreamManager, name: string): Promise<StreamConfig | null> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (error) {
    if (isStreamNotFound(error)) return null;
    throw error;
  }
}

function sameManagedConfig(existing: StreamConfig, desired: ManagedStreamConfig): boolean {
  return (
    sameSet(existing.subjects ?? [], desired.subjects) &&
    existing.storage === desired.storage &&
    existing.retention === desired.retention &&
    existing.discard === desired.discard &&
    existing.max_age === desired.max_age &&
    existing.duplicate_window === desired.duplicate_window &&
    existing.num_replicas === desired.num_replicas
  );
}

function sameSet(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((item) => right.includes(item));
}

async function ensurePresenceBucket(nc: NatsConnection, names: NatsNames, options: TopologyOptions): Promise<void> {
  for (const bucket of [names.presenceBucket, names.channelOwnerBucket]) await ensureBucket(nc, bucket, options);
}

async function ensureBucket(nc: NatsConnection, bucket: string, options: TopologyOptions): Promise<void> {
  const js = nc.jetstream();
  for (let attempt = 1; ; attempt++) {
    try {
      // Creates the bucket when missing and binds to it otherwise (an existing bucket's
      // configuration is not changed).
      await js.views.kv(bucket, { history: 1, storage: StorageType.File, replicas: options.replicas ?? 1 });
      return;
    } catch (error) {
      if (isAlreadyExists(error) && attempt < 3) continue;
      throw new Error(`cannot create key-value bucket ${bucket}: ${String(error)}`, { cause: error });
    }
  }
}

/**
 * Deletes the streams and the key-value buckets of a namespace (tests, `reachctl` resets).
 * Everything in them is lost; missing pieces are skipped.
 */
export async function deleteTopology(nc: NatsConnection, names: NatsNames): Promise<void> {
  const jsm = await nc.jetstreamManager();
  for (const stream of [names.eventsStream, names.commandsStream, names.deadLetterStream]) {
    try {
      await jsm.streams.delete(stream);
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
  }
  for (const name of [names.presenceBucket, names.channelOwnerBucket]) {
    try {
      const bucket = await nc.jetstream().views.kv(name, { bindOnly: true });
      await bucket.destroy();
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
  }
}
