import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { AdvisoryLease } from './advisory-lease';

describe('AdvisoryLease', () => {
  let database: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    // One connection: every acquisition gets the same pooled client back.
    pool = new Pool({ connectionString: database.url, max: 1 });
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('only one holder per name at a time; release frees it for the next', async () => {
    const a = new AdvisoryLease(database.pool, 'lease-test');
    const b = new AdvisoryLease(database.pool, 'lease-test');
    expect(await a.tryAcquire()).toBe(true);
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    expect(b.held).toBe(false);
    await a.release();
    expect(a.held).toBe(false);
    expect(await b.tryAcquire()).toBe(true);
    await b.release();
  });

  /** Pooled clients are reused: a lease must leave no listener of its own on them. */
  it('leaves no listener behind on the pooled client after release', async () => {
    const probe = await pool.connect();
    const baseline = probe.listenerCount('error');
    probe.release();

    const lease = new AdvisoryLease(pool, 'lease-listeners');
    for (let i = 0; i < 5; i++) {
      expect(await lease.tryAcquire()).toBe(true);
      await lease.release();
    }

    const client = await pool.connect();
    try {
      expect(client).toBe(probe);
      expect(client.listenerCount('error')).toBe(baseline);
    } finally {
      client.release();
    }
  });
});
