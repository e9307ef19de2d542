import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { dropDatabase } from '@reach/testing';
import { TO } from './support';

/**
 * The scheduler as deployed: real processes, on a platform of this suite's own (database, NATS
 * namespace, ports), so stopping its scheduler disturbs no other suite. The scheduler is stopped,
 * messages are scheduled while none runs, then replacements start — two at once — and every
 * message is released exactly once, at its time.
 */
const root = path.resolve(__dirname, '../..');
const basePort = Number(process.env['E2E_BASE_PORT_IN_USE'] ?? 4300) + 50;
const suffix = randomBytes(4).toString('hex');
const databaseUrl = (() => {
  const url = new URL(process.env['E2E_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/reach');
  url.pathname = `/reach_e2e_sched_${suffix}`;
  return url.toString();
})();
const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  NATS_URL: process.env['E2E_NATS_URL'] ?? 'nats://127.0.0.1:4222',
  REACH_NAMESPACE: `e2es${suffix}`,
  // Its own platform, so its own secret, shared by its callbacks service and its reachctl.
  REACH_API_KEY_SECRET: randomBytes(32).toString('hex'),
  LOG_LEVEL: 'warn',
  SCHEDULE_MIN_AHEAD_SECONDS: '2',
  SIM_SEND_LATENCY_MS: '50',
  SIM_DELIVERY_LATENCY_MS: '50',
};
const gatewayUrl = `http://127.0.0.1:${basePort}`;

interface Account {
  accountId: string;
  apiKey: string;
  apiUser: string;
  number: string;
}

async function reachctl<T>(...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'tools/reachctl/bin/reachctl.js'), ...args, '--json'], { env });
  return JSON.parse(stdout) as T;
}

async function withDatabase<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function startScheduler(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(root, 'services/scheduler/dist/main.js')], {
    env: { ...env, SCHEDULER_PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 30_000;
    const poll = async () => {
      if (child.exitCode !== null) return reject(new Error(`scheduler exited with ${child.exitCode}`));
      try {
        if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok) return resolve(child);
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) return reject(new Error('scheduler not ready within 30 s'));
      setTimeout(() => void poll(), 100);
    };
    void poll();
  });
}

function stop(child: ChildProcess | number): Promise<void> {
  const pid = typeof child === 'number' ? child : child.pid;
  if (!pid) return Promise.resolve();
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const check = () => {
      try {
        process.kill(pid, 0);
        setTimeout(check, 50);
      } catch {
        resolve();
      }
    };
    check();
  });
}

async function scheduleReach(account: Account, body: string, at: Date): Promise<{ status: number; body: { messageId: string; status: string } }> {
  const response = await fetch(`${gatewayUrl}/rest/messaging/v1/create`, {
    method: 'POST',
    headers: { ApiUser: account.apiUser, ApiKey: account.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ src: account.number, dest: TO, body, scheduledTime: at.toISOString() }).toString(),
  });
  return { status: response.status, body: (await response.json()) as { messageId: string; status: string } };
}

describe('scheduler: restart with timers pending, two replicas releasing once', () => {
  const started: ChildProcess[] = [];
  let own: { children: Array<{ name: string; child: ChildProcess }>; stop(): Promise<void> };

  beforeAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startPlatform } = require(path.join(root, 'scripts/platform-launcher.cjs'));
    own = await startPlatform({ env, basePort, output: 'inherit' });
  });

  afterAll(async () => {
    await Promise.all(started.map((child) => stop(child)));
    await own?.stop();
    await dropDatabase(databaseUrl);
  });

  it('releases every message exactly once, at its time, after a restart with two replicas', async () => {
    const created = await reachctl<{ accountId: string; apiKey: string; apiUser: string }>('account', 'create', '--name', 'scheduler e2e');
    const account: Account = { ...created, number: '+14155550142' };
    await reachctl('number', 'add', '--account', account.accountId, '--number', account.number);
    const platformScheduler = own.children.find((c) => c.name === 'scheduler')?.child;
    expect(platformScheduler?.pid).toBeGreaterThan(0);
    await stop(platformScheduler!);

    // While no scheduler runs: 30 messages due in 3 seconds.
    const due = new Date(Date.now() + 3_000);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await scheduleReach(account, `restart ${i}`, due);
      expect(response.status).toBe(200);
      expect(response.body.status).toBe('scheduled');
      ids.push(response.body.messageId);
    }
    const streams = ids.map((id) => `message-${id}`);
    const releases = () =>
      withDatabase(async (db) => {
        const result = await db.query<{ stream_id: string; n: string; first_at: Date }>(
          `select stream_id, count(*) as n, min(created_at) as first_at from events
           where type = 'MessageQueued' and stream_id = any($1) group by stream_id`,
          [streams],
        );
        return result.rows;
      });

    // Past their time with no scheduler: nothing is released, nothing is lost.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due.getTime() - Date.now()) + 1_000));
    expect(await releases()).toEqual([]);

    // Two replicas start at once and find the overdue timers.
    started.push(...(await Promise.all([startScheduler(basePort + 20), startScheduler(basePort + 21)])));
    const deadline = Date.now() + 15_000;
    let rows = await releases();
    while (rows.length < ids.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await releases();
    }
    expect(rows).toHaveLength(ids.length);
    expect(rows.every((row) => Number(row.n) === 1)).toBe(true);
    expect(rows.every((row) => row.first_at.getTime() >= due.getTime())).toBe(true);

    // More, due while both run: released within a second of their time, once each.
    const dueSoon = new Date(Date.now() + 3_000);
    const more: string[] = [];
    for (let i = 0; i < 20; i++) more.push((await scheduleReach(account, `two replicas ${i}`, dueSoon)).body.messageId);
    const moreStreams = more.map((id) => `message-${id}`);
    let released: Array<{ n: string; first_at: Date }> = [];
    const moreDeadline = Date.now() + 15_000;
    while (released.length < more.length && Date.now() < moreDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      released = await withDatabase(async (db) =>
        (
          await db.query<{ n: string; first_at: Date }>(
            `select count(*) as n, min(created_at) as first_at from events where type = 'MessageQueued' and stream_id = any($1) group by stream_id`,
            [moreStreams],
          )
        ).rows,
      );
    }
    expect(released).toHaveLength(more.length);
    expect(released.every((row) => Number(row.n) === 1)).toBe(true);
    const lateness = released.map((row) => row.first_at.getTime() - dueSoon.getTime());
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...lateness)).toBeLessThan(1_000);
  });
});
