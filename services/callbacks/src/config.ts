import { z } from 'zod';
import { parseApiKeySecret } from '@reach/accounts';
import { commonEnv, env, parseConfig } from '@reach/service-runtime';

const CallbacksEnv = z.object({
  ...commonEnv,
  CALLBACKS_PORT: env.port(3003),
  /**
   * The platform secret API keys are derived from (the same value reachctl uses). Status
   * callbacks are signed with the account's API key, which only this secret can re-create.
   */
  REACH_API_KEY_SECRET: z
    .string({ error: 'REACH_API_KEY_SECRET is required: the secret reachctl derives API keys from (openssl rand -hex 32)' })
    .superRefine((text, ctx) => {
      // Checked here so a bad secret stops the start; kept as text because config is deep-frozen.
      try {
        parseApiKeySecret(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /**
   * Lets deliveries reach loopback, private, link-local and other internal addresses. Only for
   * local development and tests: in production a callback URL must never reach the inside.
   */
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS: env.bool(false),
  /** Budget of one attempt: connect, send and the answer's head (15 s). */
  CALLBACKS_HTTP_TIMEOUT_MS: env.int(15_000, 100),
  /** Multiplies the retry schedule (1 in production; tests shrink hours to milliseconds). */
  CALLBACKS_TIME_SCALE: env.number(1, 0),
  /** Attempts in flight in this process across every endpoint. */
  CALLBACKS_MAX_IN_FLIGHT: env.int(512, 1),
  /** Attempts in flight to one endpoint in this process: a dead endpoint holds at most these. */
  CALLBACKS_ENDPOINT_CONCURRENCY: env.int(16, 1),
  /** How often the outbox is polled when nothing signals new work (retries falling due). */
  CALLBACKS_POLL_INTERVAL_MS: env.int(250, 10),
  /** Finished deliveries (succeeded, failed, canceled) and their attempts are kept this long. */
  CALLBACKS_RETENTION_DAYS: env.int(30, 1),
  /** Relayed events planned at once. */
  CALLBACKS_PLANNER_CONCURRENCY: env.int(16, 1),
});

export type CallbacksConfig = z.infer<typeof CallbacksEnv>;

export const CALLBACKS_CONFIG = Symbol('CallbacksConfig');

export function loadConfig(): Readonly<CallbacksConfig> {
  return parseConfig('callbacks', CallbacksEnv, process.env);
}
