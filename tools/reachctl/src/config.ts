import { Namespace } from '@reach/contracts';
import { z } from 'zod';

/** The only place reachctl reads the environment: validated once, then frozen. */
const ReachctlEnv = z.object({
  DATABASE_URL: z
    .string()
    .trim()
    .default('postgres://postgres@127.0.0.1:5432/reach')
    .refine((value) => /^postgres(ql)?:\/\//.test(value) && URL.canParse(value), 'a postgres:// URL such as postgres://postgres@127.0.0.1:5432/reach'),
  NATS_URL: z
    .string()
    .trim()
    .default('nats://127.0.0.1:4222')
    .refine(
      (value) => value.split(',').every((server) => URL.canParse(server.trim())),
      'one or more comma-separated server URLs such as nats://127.0.0.1:4222',
    ),
  REACH_NAMESPACE: Namespace.default('reach'),
});

export interface ReachctlConfig {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  /** Subject and stream prefix of the platform reachctl talks to (`natsNames(namespace)`). */
  readonly namespace: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ReachctlConfig {
  // An empty variable means "not set", as in most shells' `VAR= reachctl …`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = ReachctlEnv.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze({
    databaseUrl: parsed.data.DATABASE_URL,
    natsUrl: parsed.data.NATS_URL,
    namespace: parsed.data.REACH_NAMESPACE,
  });
}
