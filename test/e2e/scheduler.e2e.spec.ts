import { TO } from './support';
import { startOwnPlatform, stopProcess, type OwnPlatform } from './own-platform';

/**
 * The scheduler as deployed: real processes, on a platform of this suite's own (database, NATS
 * namespace, ports), so stopping its scheduler disturbs no other suite. The scheduler is stopped,
 * messages are scheduled while none runs, then replacements start — two at once — and every
 * message is released exactly once, at its time.
 */
interface Account {
  accountId: string;
  apiKey: string;
  apiUser: string;
  number: string;
}

let own: OwnPlatform;

async function scheduleReach(account: Account, body: string, at: Date): Promise<{ status: number; body: { messageId: string; status: string } }> {
  const response = await fetch(`${own.gatewayUrl}/rest/messaging/v1/create`, {
    method: 'POST',
    headers: { ApiUser: account.apiUser, ApiKey: account.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ src: account.number, dest: TO, body, scheduledTime: at.toISOString() }).toString(),
  });
  return { status: response.status, body: (await response.json()) as { messageId: string; status: string } };
}

describe('scheduler: restart with timers pending, two replicas releasing once', () => {
  beforeAll(async () => {
    own = await startOwnPlatform('sched', 50, {
      SCHEDULE_MIN_AHEAD_SECONDS: '2',
      SIM_SEND_LATENCY_MS: '50',
      SIM_DELIVERY_LATENCY_MS: '50',
    });
  });

  afterAll(async () => {
    await own?.stop();
  });

  it('releases every message exactly once, at its time, after a restart with two replicas', async () => {
    const created = await own.reachctl<{ accountId: string; apiKey: string; apiUser: string }>('account', 'create', '--name', 'scheduler e2e');
    const account: Account = { ...created, number: '+14155550142' };
    await own.reachctl('number', 'add', '--account', account.accountId, '--number', account.number);
    await stopProcess(own.child('scheduler'));

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
      own.withDatabase(async (db) => {
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
    await Promise.all([own.startService('scheduler', own.basePort + 20), own.startService('scheduler', own.basePort + 21)]);
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
      released = await own.withDatabase(async (db) =>
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
