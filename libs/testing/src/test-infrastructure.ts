import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabaseExists, migrateToLatest, openDatabase, type DatabaseHandle } from '@reach/database';

/**
 * Tests take their infrastructure from env URLs (CI and developer machines run Postgres and
 * NATS locally). Each suite gets its own database and NATS namespace, so suites run in parallel
 * and leave nothing behind.
 */
export const testUrls = {
  database: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/reach',
  nats: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
  eventStore: process.env['EVENTSTORE_URL'] ?? null,
};

export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

/** A NATS namespace (subject and stream prefix) of its own for one suite. */
export function testNamespace(): string {
  return `t${uniqueSuffix()}`;
}

export interface TestDatabase extends DatabaseHandle {
  readonly url: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const url = new URL(testUrls.database);
  url.pathname = `/reach_test_${uniqueSuffix()}`;
  const databaseUrl = url.toString();
  await ensureDatabaseExists(databaseUrl);
  const handle = openDatabase(databaseUrl, { max: 10, application_name: 'reach-test' });
  if (options.migrate ?? true) await migrateToLatest(handle.db);
  return {
    ...handle,
    url: databaseUrl,
    async drop() {
      await handle.close();
      await dropDatabase(databaseUrl);
    },
  };
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
