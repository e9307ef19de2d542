import type { Pool } from 'pg';
import type { JetStreamClient, NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { natsNames, type NatsNames } from '@reach/contracts';
import { ensureDatabaseExists, migrateToLatest, openDatabase, redactUrl, type Db, type DatabaseHandle } from '@reach/database';
import { createEventStore, type EventStore } from '@reach/event-store';
import { connectNats, drainNats, ensureTopology } from '@reach/messaging';

export interface PlatformSettings {
  readonly service: string;
  readonly databaseUrl: string;
  readonly natsUrl: string;
  readonly eventStoreUrl: string | null;
  readonly namespace: string;
  /** JetStream stream replicas (NATS_STREAM_REPLICAS); 1 when absent. */
  readonly streamReplicas?: number;
  readonly databasePoolSize?: number;
}

/** Everything a service talks to, opened once at boot and closed once at shutdown. */
export interface PlatformConnections {
  readonly database: DatabaseHandle;
  readonly db: Db;
  readonly pool: Pool;
  readonly store: EventStore;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly names: NatsNames;
  close(): Promise<void>;
}

export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/**
 * Opens Postgres (creating the database and migrating it), the event store and NATS (creating
 * streams and buckets), idempotently, so every service can start first. A dependency that does not
 * answer is named with where we looked and how to start it.
 */
export async function openPlatformConnections(settings: PlatformSettings, logger: Logger): Promise<PlatformConnections> {
  try {
    await ensureDatabaseExists(settings.databaseUrl);
  } catch (error) {
    if (!isConnectionFailure(error)) {
      throw new StartupError(`could not prepare the database at ${redactUrl(settings.databaseUrl)}: ${describe(error)}`, { cause: error });
    }
    throw new StartupError(
      `cannot reach PostgreSQL at ${redactUrl(settings.databaseUrl)} (${describe(error)}).\n` +
        `Start it (for example: pg_ctlcluster 15 main start), or point DATABASE_URL at a running server. ` +
        `'npm start' starts an embedded PostgreSQL when none answers.`,
      { cause: error },
    );
  }
  const database = openDatabase(settings.databaseUrl, {
    max: settings.databasePoolSize ?? 10,
    application_name: settings.service,
  });
  try {
    await migrateToLatest(database.db);
    logger.info('database migrated');
    const store = createEventStore({ eventStoreUrl: settings.eventStoreUrl, pool: database.pool });
    let nc: NatsConnection;
    try {
      nc = await connectNats({ url: settings.natsUrl, name: settings.service, logger });
    } catch (error) {
      throw new StartupError(
        `cannot reach NATS at ${settings.natsUrl} (${describe(error)}).\n` +
          `Start one with JetStream enabled (nats-server -js), or point NATS_URL at a running server.`,
        { cause: error },
      );
    }
    const names = natsNames(settings.namespace);
    await ensureTopology(nc, names, { replicas: settings.streamReplicas ?? 1 });
    const js = nc.jetstream();
    return {
      database,
      db: database.db,
      pool: database.pool,
      store,
      nc,
      js,
      names,
      async close() {
        await drainNats(nc);
        await store.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH']);

function isConnectionFailure(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isConnectionFailure);
  const code = (error as { code?: string } | null)?.code;
  return code !== undefined && CONNECTION_CODES.has(code);
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return describe(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code && CONNECTION_CODES.has(code) ? code : error.message;
  }
  return String(error);
}
