import { z } from 'zod';
import { commonEnv, env, parseConfig } from '@reach/service-runtime';

/**
 * Connections a scheduler process may use at once, besides one per firing loop: the Postgres
 * event store's statements (4 appends + 4 stream reads), timer writes (2 records + 1 removal),
 * the pending/overdue counts (2) and the readiness probe. A firing round holds its connection
 * while its commands run, and a timer removal can wait on that round's row locks: the pool must
 * cover everything, or a round could wait for a connection held by a removal that waits for it.
 */
const CONNECTIONS_BESIDES_LOOPS = 14;

const SchedulerEnv = z
  .object({
    ...commonEnv,
    SCHEDULER_PORT: env.port(3002),
    DATABASE_POOL_SIZE: env.int(20, 1),
    /** Timers taken (and fired concurrently) per round; a round is one transaction. */
    SCHEDULER_BATCH_SIZE: env.int(500, 1),
    /** Rounds in flight at once in this process (they split the due timers like replicas do). */
    SCHEDULER_FIRING_LOOPS: env.int(2, 1),
    /** Longest sleep between rounds: bounds how late a timer recorded by another replica is seen. */
    SCHEDULER_MAX_SLEEP_MS: env.int(250, 10),
    /** Events handled at once by each timer-recording consumer (their writes are grouped). */
    SCHEDULER_CONSUMER_CONCURRENCY: env.int(256, 1),
    /** How often the pending (estimated) and overdue (counted) timer gauges are refreshed. */
    SCHEDULER_PENDING_GAUGE_INTERVAL_MS: env.int(15_000, 1_000),
  })
  .refine((c) => c.DATABASE_POOL_SIZE >= c.SCHEDULER_FIRING_LOOPS + CONNECTIONS_BESIDES_LOOPS, {
    message: `DATABASE_POOL_SIZE must be at least SCHEDULER_FIRING_LOOPS + ${CONNECTIONS_BESIDES_LOOPS}`,
    path: ['DATABASE_POOL_SIZE'],
  });

export type SchedulerConfig = z.infer<typeof SchedulerEnv>;

export const SCHEDULER_CONFIG = Symbol('SchedulerConfig');

export function loadConfig(): Readonly<SchedulerConfig> {
  return parseConfig('scheduler', SchedulerEnv, process.env);
}
