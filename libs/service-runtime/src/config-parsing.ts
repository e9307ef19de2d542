import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly service: string, readonly problems: string[]) {
    super(`${service}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates env once at boot; the result is deeply frozen so nothing mutates config later. */
export function parseConfig<S extends z.ZodType>(service: string, schema: S, env: Record<string, string | undefined>): Readonly<z.infer<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      service,
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as Record<string, unknown>)) deepFreeze(inner);
  }
  return value;
}

/** Building blocks shared by the services' env schemas. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  url: (fallback: string) => z.string().url().default(fallback),
  optionalUrl: () =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v === '' ? null : v)),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  number: (fallback: number, min = 0) => z.coerce.number().min(min).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  namespace: () => z.string().regex(/^[a-z][a-z0-9]{0,31}$/).default('reach'),
};

/** The settings every service reads, under the same names. */
export const commonEnv = {
  DATABASE_URL: env.url('postgres://postgres@127.0.0.1:5432/reach'),
  NATS_URL: env.url('nats://127.0.0.1:4222'),
  EVENTSTORE_URL: env.optionalUrl(),
  REACH_NAMESPACE: env.namespace(),
  LOG_LEVEL: env.logLevel(),
  /**
   * Replicas of each JetStream stream and of the presence bucket: 1 for a single NATS server,
   * 3 on a three-node cluster so a stream survives losing a node. Every service and `reachctl
   * migrate` must agree, or each start would set the streams back to its own value.
   */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
};
