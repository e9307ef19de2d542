import { z } from 'zod';
import { parseApiKeySecret } from '@reach/accounts';
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
  /**
   * The platform secret (the same value reachctl and the callbacks service use): SMPP connector
   * passwords are stored sealed under a key derived from it.
   */
  REACH_API_KEY_SECRET: z
    .string({ error: 'REACH_API_KEY_SECRET is required: SMPP connector passwords are sealed with it (openssl rand -hex 32)' })
    .superRefine((text, ctx) => {
      try {
        parseApiKeySecret(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /** The device gateway (WebSocket) of the replica that owns the channels. */
  DEVICE_GATEWAY_PORT: env.port(3005),
  DEVICE_GATEWAY_HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * Where the public edge (api-gateway) reaches this replica's device gateway; in Kubernetes the
   * pod's address (`http://$(POD_IP):3005`). Default: http://127.0.0.1:<DEVICE_GATEWAY_PORT>.
   */
  DEVICE_GATEWAY_ADVERTISE_URL: z.string().url().optional(),
  /** Heartbeat interval told to devices; a device silent for three intervals is offline. */
  DEVICE_HEARTBEAT_INTERVAL_MS: env.int(15_000, 100),
  /** The window a device's sends per minute are counted in (60 s; tests shorten it). */
  DEVICE_PACING_WINDOW_MS: env.int(60_000, 100),
  /** After a message's validity ends, how long a connected phone that accepted it has to report it sent or failed before it fails (30001). */
  DEVICE_ACCEPTED_GRACE_MS: env.int(60_000, 0),
  /** How often device bindings, SMPP connectors and routes are re-read (reachctl changes take effect). */
  CHANNEL_REFRESH_INTERVAL_MS: env.int(10_000, 100),
});

export type DispatcherConfig = z.infer<typeof DispatcherEnv>;

export const DISPATCHER_CONFIG = Symbol('DispatcherConfig');

export function loadConfig(): Readonly<DispatcherConfig> {
  return parseConfig('dispatcher', DispatcherEnv, process.env);
}
