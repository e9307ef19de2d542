import { sql } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { channelKinds } from '@reach/contracts';
import type { Db } from '@reach/database';

export interface ChannelHealthDeps {
  readonly registry: Registry;
  readonly db: Db;
  /** Numbers whose phone the presence directory records offline. */
  readonly offlineNumbers: () => readonly string[];
  /** Whether this replica holds the channels lease (runs the simulated phones, the device gateway and the SMPP binds). */
  readonly channelsHeld: () => boolean;
  readonly logger: Logger;
}

/**
 * Channel health, read when scraped: `reach_phones_online` (provisioned numbers whose phone is
 * online — a number without a presence entry counts as online, as the dispatcher treats it) and
 * `reach_channel_up{channel}` (1 on the replica that holds the channel's lease, 0 on the others).
 */
export function createChannelHealthMetrics(deps: ChannelHealthDeps): void {
  const registers = [deps.registry];
  new Gauge({
    name: 'reach_phones_online',
    help: 'Provisioned numbers whose phone is online (no presence entry counts as online)',
    registers,
    async collect() {
      try {
        this.set(await countNumbersOnline(deps.db, deps.offlineNumbers()));
      } catch (error) {
        // The last figure stays: a scrape does not fail because the database is slow.
        deps.logger.warn({ err: error }, 'could not count the phones online');
      }
    },
  });
  new Gauge({
    name: 'reach_channel_up',
    help: 'Whether this replica runs the channel (holds its lease): 1 or 0',
    labelNames: ['channel'],
    registers,
    collect() {
      const up = deps.channelsHeld() ? 1 : 0;
      for (const channel of channelKinds) this.set({ channel }, up);
    },
  });
}

/** Provisioned numbers not among `offline`: one count over `numbers`. */
export async function countNumbersOnline(db: Db, offline: readonly string[]): Promise<number> {
  const result = await sql<{ n: string }>`
    select count(*) as n from numbers where e164 <> all(${[...offline]}::text[])`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}
