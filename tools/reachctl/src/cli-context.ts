import { randomUUID } from 'node:crypto';
import { natsNames, type NatsNames } from '@reach/contracts';
import { ensureDatabaseExists, migrateToLatest, openDatabase, type Db } from '@reach/database';
import { connectNats, drainNats, ensureTopology, isStreamNotFound } from '@reach/messaging';
import type { JetStreamClient, NatsConnection } from 'nats';
import pino from 'pino';
import { readApiKeySecret } from './api-key-secret';
import { postgresError } from './cli-errors';
import { loadConfig, type ReachctlConfig } from './config';

export interface CliIo {
  /** Writes one line to stdout. */
  out(line: string): void;
  /** Writes one line to stderr. */
  err(line: string): void;
  /** All of stdin, for secrets that must not be given as arguments (`--password-stdin`). */
  readStdin?(): Promise<string>;
}

export interface NatsSession {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly names: NatsNames;
}

/** What the command groups need from the outside world; tests build their own. */
export interface CliContext {
  readonly io: CliIo;
  config(): ReachctlConfig;
  /** The platform secret API keys are derived from and connector passwords sealed with; read on first use, only by the commands that need it. */
  apiKeySecret(): Buffer;
  /** Creates and migrates the database if needed, runs `work`, and always closes the pool. */
  withDatabase<T>(work: (db: Db) => Promise<T>): Promise<T>;
  /** Connects to NATS (creating missing streams and buckets), runs `work`, and always drains. */
  withNats<T>(work: (session: NatsSession) => Promise<T>): Promise<T>;
  now(): Date;
  newId(): string;
}

export const processIo: CliIo = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8');
  },
};

export function createCliContext(io: CliIo = processIo, readConfig: () => ReachctlConfig = loadConfig): CliContext {
  // Read on first use, so `reachctl --help` works even with a broken environment.
  let config: ReachctlConfig | undefined;
  let apiKeySecret: Buffer | undefined;
  const getConfig = () => (config ??= readConfig());
  return {
    io,
    config: getConfig,
    apiKeySecret: () => (apiKeySecret ??= readApiKeySecret(getConfig().apiKeySecret)),
    withDatabase: (work) => withDatabase(getConfig().databaseUrl, work),
    withNats: (work) => withNats(getConfig(), work),
    now: () => new Date(),
    newId: () => randomUUID(),
  };
}

export async function withDatabase<T>(databaseUrl: string, work: (db: Db) => Promise<T>): Promise<T> {
  try {
    await ensureDatabaseExists(databaseUrl);
  } catch (error) {
    throw postgresError(databaseUrl, error);
  }
  const handle = openDatabase(databaseUrl, { max: 2, application_name: 'reachctl' });
  try {
    try {
      await migrateToLatest(handle.db);
    } catch (error) {
      throw postgresError(databaseUrl, error);
    }
    return await work(handle.db);
  } finally {
    await handle.close();
  }
}

export async function withNats<T>(config: ReachctlConfig, work: (session: NatsSession) => Promise<T>): Promise<T> {
  // connectNats's errors already say where it looked and how to start NATS.
  const nc = await connectNats({ url: config.natsUrl, name: 'reachctl', logger: pino({ level: 'silent' }) });
  try {
    const names = natsNames(config.namespace);
    await ensureTopologyIfMissing(nc, names);
    return await work({ nc, js: nc.jetstream(), names });
  } finally {
    await drainNats(nc);
  }
}

/**
 * Creates the streams and the presence bucket when the platform has not run yet (with the
 * services' default settings), but leaves a complete topology alone: the services own its
 * settings (replicas, retention), and reachctl must not overwrite them with defaults.
 */
async function ensureTopologyIfMissing(nc: NatsConnection, names: NatsNames): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const required = [names.eventsStream, names.commandsStream, names.deadLetterStream, `KV_${names.presenceBucket}`];
  for (const stream of required) {
    try {
      await jsm.streams.info(stream);
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
      await ensureTopology(nc, names);
      return;
    }
  }
}
