import { z } from 'zod';
import { defaultPriceTable, parsePriceTable, type PriceTable } from '@reach/message-domain';
import { commonEnv, env, parseConfig } from '@reach/service-runtime';

/** `PRICE_TABLE`: JSON as `parsePriceTable` reads it; absent or empty means the sample table. */
const priceTable = z
  .string()
  .optional()
  .transform((text, ctx): PriceTable => {
    if (text === undefined || text.trim() === '') return defaultPriceTable;
    try {
      return parsePriceTable(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const GatewayEnv = z.object({
  ...commonEnv,
  PORT: env.port(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_POOL_SIZE: env.int(20, 1),
  /** Validity period of messages whose request names none (seconds; Reach's documented default). */
  DEFAULT_VALIDITY_PERIOD_SECONDS: env.int(14_400, 1),
  /** Reach `price`/`priceUnit` per destination country (JSON, see `parsePriceTable`). */
  PRICE_TABLE: priceTable,
  /** Reach `scheduledTime` window: at least this many seconds after the request (15 minutes)… */
  SCHEDULE_MIN_AHEAD_SECONDS: env.int(900, 0),
  /** …and at most this many (5 days). */
  SCHEDULE_MAX_AHEAD_SECONDS: env.int(432_000, 1),
  /** Reach error bodies' `more_info` is this URL followed by the errorCode. */
  REACH_ERROR_DOCS_URL: z.string().url().default('https://reach.example/docs/errors/'),
  /** Log one line per HTTP request (off by default: the hot path logs only what goes wrong). */
  LOG_REQUESTS: env.bool(false),
  /**
   * Requests one account may have in flight at once on the send calls; more answer 429 with
   * Retry-After. Counted per gateway process: with N replicas an account may have N × this.
   */
  ACCOUNT_CONCURRENCY_LIMIT: env.int(100, 1),
  /**
   * Lets `POST /v1/webhooks` register URLs on localhost or a private/reserved literal IP. Off in
   * production: the gateway's refusal is an early, friendly one (the callbacks service re-checks
   * every resolved address when it connects). Only for tests and self-hosted setups whose
   * receivers live on the local network.
   */
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS: env.bool(false),
  /**
   * Device WebSockets this replica proxies to the channel owner at once (`/v1/device`); more are
   * answered 503 with Retry-After. Each one holds two sockets: the open-files limit must allow it.
   */
  DEVICE_EDGE_MAX_CONNECTIONS: env.int(10_000, 1),
});

export type GatewayConfig = z.infer<typeof GatewayEnv>;

export function loadConfig(): Readonly<GatewayConfig> {
  return parseConfig(
    'api-gateway',
    GatewayEnv.refine((c) => c.SCHEDULE_MIN_AHEAD_SECONDS <= c.SCHEDULE_MAX_AHEAD_SECONDS, {
      message: 'SCHEDULE_MIN_AHEAD_SECONDS must not exceed SCHEDULE_MAX_AHEAD_SECONDS',
    }),
    process.env,
  );
}

/** Injection token for the gateway's frozen config. */
export const GATEWAY_CONFIG = Symbol('GatewayConfig');
