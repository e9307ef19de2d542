import { natsNames } from '@reach/contracts';
import { ensureDatabaseExists, migrateToLatest, openDatabase, redactUrl, type Db } from '@reach/database';
import { connectNats, drainNats, ensureTopology, topologyStreamConfigs } from '@reach/messaging';
import type { Command } from 'commander';
import { sql } from 'kysely';
import pino from 'pino';
import type { CliContext } from './cli-context';
import { postgresError } from './cli-errors';
import { report } from './cli-output';
import type { ReachctlConfig } from './config';

export interface MigrateResult {
  readonly database: {
    /** DATABASE_URL without its password. */
    readonly url: string;
    /** Migrations this run applied, in order (empty when the schema was current). */
    readonly applied: readonly string[];
    /** The newest migration the schema now has. */
    readonly latest: string | null;
  };
  readonly nats: {
    /** NATS_URL without credentials. */
    readonly url: string;
    readonly namespace: string;
    readonly streams: readonly string[];
    readonly buckets: readonly string[];
  };
}

/**
 * The deployment step run before new versions of the services start (a Kubernetes
 * initContainer, compose's one-shot `migrate` service): creates the database when missing,
 * applies the kysely migrations, and creates or updates the JetStream streams and the presence
 * bucket with the services' own settings. Both halves are idempotent and safe to run from
 * several processes at once (kysely takes a lock; ensureTopology settles create races), so every
 * replica may run it; the services still do the same at start, this makes a failure visible
 * before any of them is replaced.
 */
export async function migratePlatform(
  config: Pick<ReachctlConfig, 'databaseUrl' | 'natsUrl' | 'namespace'> & { readonly streamReplicas?: number },
): Promise<MigrateResult> {
  const database = await migrateDatabase(config.databaseUrl);
  const names = natsNames(config.namespace);
  // connectNats's errors already say where it looked and how to start NATS.
  const nc = await connectNats({ url: config.natsUrl, name: 'reachctl-migrate', logger: pino({ level: 'silent' }) });
  try {
    await ensureTopology(nc, names, { replicas: config.streamReplicas ?? 1 });
  } finally {
    await drainNats(nc);
  }
  return {
    database,
    nats: {
      url: withoutCredentials(config.natsUrl),
      namespace: config.namespace,
      streams: topologyStreamConfigs(names).map((stream) => stream.name),
      buckets: [names.presenceBucket, names.channelOwnerBucket],
    },
  };
}

async function migrateDatabase(databaseUrl: string): Promise<MigrateResult['database']> {
  try {
    await ensureDatabaseExists(databaseUrl);
  } catch (error) {
    throw postgresError(databaseUrl, error);
  }
  const handle = openDatabase(databaseUrl, { max: 1, application_name: 'reachctl-migrate' });
  try {
    const result = await migrateToLatest(handle.db);
    const applied = (result.results ?? []).filter((step) => step.status === 'Success').map((step) => step.migrationName);
    return { url: redactUrl(databaseUrl), applied, latest: await latestMigration(handle.db) };
  } catch (error) {
    throw postgresError(databaseUrl, error);
  } finally {
    await handle.close();
  }
}

/** kysely's own bookkeeping table: names sort in the order the migrations run. */
async function latestMigration(db: Db): Promise<string | null> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(db);
  return rows[0]?.name ?? null;
}

/** NATS URLs may carry a user and password or a token (as the user part): never print them. */
function withoutCredentials(urls: string): string {
  return urls
    .split(',')
    .map((text) => {
      try {
        const url = new URL(text.trim());
        url.username = '';
        url.password = '';
        return url.toString().replace(/\/$/, '');
      } catch {
        return '<unparseable url>';
      }
    })
    .join(',');
}

export function registerMigrateCommand(program: Command, context: CliContext): void {
  program
    .command('migrate')
    .description(
      'create the database if missing, apply the database migrations and set up the NATS JetStream streams and buckets, ' +
        'then exit (idempotent; run it before new versions of the services start)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await migratePlatform(context.config());
      const schema =
        result.database.applied.length === 0
          ? `schema already at ${result.database.latest}`
          : `applied ${result.database.applied.length} migration(s), schema at ${result.database.latest}`;
      report(
        context.io,
        options.json,
        result,
        `${result.database.url}: ${schema}; ${result.nats.url}: streams ${result.nats.streams.join(', ')} and buckets ${result.nats.buckets.join(', ')} ready`,
      );
    });
}
