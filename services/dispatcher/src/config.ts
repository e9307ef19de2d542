import { z } from 'zod';
import { commonEnv, env, parseConfig } from '@reach/service-runtime';

const DispatcherEnv = z.object({
  ...commonEnv,
  DISPATCHER_PORT: env.port(3001),
  DATABASE_POOL_SIZE: env.int(20, 1),
  /** Simulated phones: time from taking a command to reporting it sent. */
  SIM_SEND_LATENCY_MS: env.int(300),
  /** Simulated carrier: time from sent to the delivery receipt. */
  SIM_DELIVERY_LATENCY_MS: env.int(700),
  /** Share of sends the simulated phone reports as failed (0…1). */
  SIM_FAILURE_RATE: env.number(0).pipe(z.number().max(1)),
  /** Share of sent messages whose receipt says undelivered (0…1). */
  SIM_UNDELIVERED_RATE: env.number(0).pipe(z.number().max(1)),
  /** Messages of different senders handled at once by the queue consumer. */
  QUEUE_CONSUMER_CONCURRENCY: env.int(32, 1),
});

export type DispatcherConfig = z.infer<typeof DispatcherEnv>;

export const DISPATCHER_CONFIG = Symbol('DispatcherConfig');

export function loadConfig(): Readonly<DispatcherConfig> {
  return parseConfig('dispatcher', DispatcherEnv, process.env);
}
