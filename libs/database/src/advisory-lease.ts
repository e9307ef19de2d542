import type { Pool, PoolClient } from 'pg';

/**
 * A lease held as a Postgres session advisory lock on one dedicated connection: exactly one
 * process at a time holds a given name; if the holder dies, its connection closes and the lock
 * is free for the next replica.
 */
export class AdvisoryLease {
  private client: PoolClient | null = null;
  private onConnectionError: (() => void) | null = null;

  constructor(
    private readonly pool: Pool,
    readonly name: string,
  ) {}

  get held(): boolean {
    return this.client !== null;
  }

  async tryAcquire(): Promise<boolean> {
    if (this.client) return true;
    const client = await this.pool.connect();
    try {
      const result = await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [this.name]);
      if (result.rows[0]?.locked) {
        const onConnectionError = () => {
          // The connection died, and the lock with it (only if it is still this lease's connection).
          if (this.client === client) this.client = null;
        };
        client.on('error', onConnectionError);
        this.client = client;
        this.onConnectionError = onConnectionError;
        return true;
      }
    } catch (error) {
      client.release(true);
      throw error;
    }
    client.release();
    return false;
  }

  async release(): Promise<void> {
    const client = this.client;
    const listener = this.onConnectionError;
    this.client = null;
    this.onConnectionError = null;
    if (!client) return;
    // Pooled clients are reused: leave no listener of ours on them.
    if (listener) client.removeListener('error', listener);
    try {
      await client.query('select pg_advisory_unlock(hashtext($1))', [this.name]);
      client.release();
    } catch {
      client.release(true);
    }
  }
}
