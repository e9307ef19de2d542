import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { natsNames } from '@reach/contracts';
import { connectNats, deleteTopology, drainNats, isStreamNotFound } from '@reach/messaging';
import { createTestDatabase, testNamespace, testUrls, type TestDatabase } from '@reach/testing';
import { sql } from 'kysely';
import type { NatsConnection } from 'nats';
import pino from 'pino';
import { main } from './main';
import type { MigrateResult } from './migrate.command';

const root = join(__dirname, '..', '..', '..');
const bin = join(root, 'tools', 'reachctl', 'bin', 'reachctl.js');
const namespace = testNamespace();
const names = natsNames(namespace);
const apiKeySecret = { kind: 'file' as const, path: '/nonexistent/api-key-secret', explicit: false };
let database: TestDatabase;
let nc: NatsConnection;

beforeAll(async () => {
  // An empty database: migrate must do everything itself.
  database = await createTestDatabase({ migrate: false });
  nc = await connectNats({ url: testUrls.nats, name: 'reachctl-migrate-test', logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  if (nc) {
    await deleteTopology(nc, names);
    await drainNats(nc);
  }
  await database?.drop();
});

function run(args: string[], overrides: { databaseUrl?: string; natsUrl?: string } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const readConfig = () => ({
    databaseUrl: overrides.databaseUrl ?? database.url,
    natsUrl: overrides.natsUrl ?? testUrls.nats,
    namespace,
    apiKeySecret,
  });
  const exit = main(['node', 'reachctl', ...args], { io: { out: (line) => out.push(line), err: (line) => err.push(line) }, readConfig });
  return exit.then((code) => ({ code, out, err }));
}

/** What kysely recorded as applied, in order. */
async function recordedMigrations(): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(database.db);
  return rows.map((row) => row.name);
}

async function tableExists(name: string): Promise<boolean> {
  const { rows } = await sql<{ found: string | null }>`select to_regclass(${`public.${name}`})::text as found`.execute(database.db);
  return rows[0]?.found != null;
}

async function streamExists(name: string): Promise<boolean> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(name);
    return true;
  } catch (error) {
    if (isStreamNotFound(error)) return false;
    throw error;
  }
}

describe('reachctl migrate', () => {
  it('migrates an empty database and creates the JetStream topology, then does nothing the second time', async () => {
    expect(await tableExists('events')).toBe(false);
    expect(await streamExists(names.eventsStream)).toBe(false);

    const first = await run(['migrate', '--json']);
    expect({ code: first.code, err: first.err }).toEqual({ code: 0, err: [] });
    const result = JSON.parse(first.out[0]!) as MigrateResult;
    const recorded = await recordedMigrations();
    expect(recorded.length).toBeGreaterThanOrEqual(8);
    expect(result).toEqual({
      database: { url: database.url, applied: recorded, latest: recorded.at(-1) },
      nats: {
        url: testUrls.nats.replace(/\/$/, ''),
        namespace,
        streams: [names.eventsStream, names.commandsStream, names.deadLetterStream],
        buckets: [names.presenceBucket, names.channelOwnerBucket],
      },
    });
    for (const table of ['events', 'accounts', 'deliveries']) expect(await tableExists(table)).toBe(true);
    for (const stream of result.nats.streams) expect(await streamExists(stream)).toBe(true);
    const bucket = await nc.jetstream().views.kv(names.presenceBucket, { bindOnly: true });
    expect((await bucket.status()).bucket).toBe(names.presenceBucket);

    const jsm = await nc.jetstreamManager();
    const created = (await jsm.streams.info(names.eventsStream)).created;
    const second = await run(['migrate', '--json']);
    expect({ code: second.code, err: second.err }).toEqual({ code: 0, err: [] });
    expect(JSON.parse(second.out[0]!)).toEqual({ ...result, database: { ...result.database, applied: [] } });
    // The same stream, not a new one.
    expect((await jsm.streams.info(names.eventsStream)).created).toBe(created);
  });

  it('prints one sentence without --json', async () => {
    const { code, out, err } = await run(['migrate']);
    expect({ code, err }).toEqual({ code: 0, err: [] });
    const latest = (await recordedMigrations()).at(-1);
    expect(out).toEqual([expect.stringMatching(new RegExp(`: schema already at ${latest}; .*streams ${names.eventsStream}, .* ready$`))]);
  });

  it('never prints the database password or NATS credentials', async () => {
    const url = new URL(database.url);
    url.password = 'not-the-real-password';
    const { code, out, err } = await run(['migrate', '--json'], { databaseUrl: url.toString() });
    // The local test server trusts its clients, so the made-up password is not checked.
    if (code === 0) expect(out.join('')).not.toContain('not-the-real-password');
    expect(err.join('')).not.toContain('not-the-real-password');

    const withToken = await run(['migrate', '--json'], { natsUrl: testUrls.nats.replace('://', '://s3cr3t-token@') });
    expect(JSON.stringify(withToken)).not.toContain('s3cr3t-token');
  });

  it('exits 1 and says what to fix when PostgreSQL or NATS cannot be reached', async () => {
    const noDatabase = await run(['migrate'], { databaseUrl: 'postgres://postgres@127.0.0.1:1/reach' });
    expect(noDatabase).toMatchObject({ code: 1, out: [] });
    expect(noDatabase.err).toEqual([expect.stringMatching(/^reachctl: cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/reach \(ECONNREFUSED\).*DATABASE_URL$/)]);

    const noNats = await run(['migrate'], { natsUrl: 'nats://127.0.0.1:1' });
    expect(noNats).toMatchObject({ code: 1, out: [] });
    expect(noNats.err).toEqual([expect.stringMatching(/^reachctl: NATS is not reachable at nats:\/\/127\.0\.0\.1:1 .*NATS_URL/)]);
  });

  it('runs as the deployments run it: the built executable, configured by env vars, exits when done', async () => {
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'tools/reachctl'], { cwd: root, stdio: 'pipe' });
    } catch (error) {
      const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
      throw new Error(`cannot build reachctl (npx tsc -b tools/reachctl):\n${output}`);
    }
    const env = { ...process.env, DATABASE_URL: database.url, NATS_URL: testUrls.nats, REACH_NAMESPACE: namespace };
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, [bin, 'migrate', '--json'], { cwd: root, env, timeout: 20_000 }, (error, stdout, stderr) => {
        // Killed by the timeout: a connection left open would keep the process alive.
        if (error?.killed) reject(new Error('reachctl migrate did not exit within 20 s'));
        else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      });
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toMatchObject({ database: { applied: [], latest: (await recordedMigrations()).at(-1) }, nats: { namespace } });
  }, 180_000);
});
