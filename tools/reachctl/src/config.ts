import path from 'node:path';
import { isAccountsError, parseApiKeySecret } from '@reach/accounts';
import { Namespace } from '@reach/contracts';
import { z } from 'zod';

/** Where `npm start` (scripts/platform.cjs) keeps the platform secret it generated. */
export const DEFAULT_API_KEY_SECRET_FILE = path.resolve(__dirname, '..', '..', '..', '.data', 'api-key-secret');

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
  /** JetStream stream replicas, as the services read it: `migrate` must set what they expect. */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  // Parsed here so a malformed value is reported at once; the message never repeats the value.
  REACH_API_KEY_SECRET: z
    .string()
    .transform((text, ctx): Buffer => {
      try {
        return parseApiKeySecret(text);
      } catch (error) {
        if (!isAccountsError(error)) throw error;
        ctx.addIssue({ code: 'custom', message: error.message });
        return z.NEVER;
      }
    })
    .optional(),
  REACH_API_KEY_SECRET_FILE: z.string().default(DEFAULT_API_KEY_SECRET_FILE),
});

/**
 * Where the platform secret API keys are derived from comes from: `REACH_API_KEY_SECRET` itself,
 * or else the file `REACH_API_KEY_SECRET_FILE` names (read only by the commands that need it, so
 * the others work without one).
 */
export type ApiKeySecretSource =
  | { readonly kind: 'value'; readonly secret: Buffer }
  | { readonly kind: 'file'; readonly path: string; readonly explicit: boolean };

export interface ReachctlConfig {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  /** Subject and stream prefix of the platform reachctl talks to (`natsNames(namespace)`). */
  readonly namespace: string;
  /** JetStream stream replicas (`NATS_STREAM_REPLICAS`); 1 when absent. */
  readonly streamReplicas?: number;
  readonly apiKeySecret: ApiKeySecretSource;
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
  const secret = parsed.data.REACH_API_KEY_SECRET;
  return Object.freeze({
    databaseUrl: parsed.data.DATABASE_URL,
    natsUrl: parsed.data.NATS_URL,
    namespace: parsed.data.REACH_NAMESPACE,
    streamReplicas: parsed.data.NATS_STREAM_REPLICAS,
    apiKeySecret: Object.freeze(
      secret
        ? { kind: 'value' as const, secret }
        : { kind: 'file' as const, path: path.resolve(parsed.data.REACH_API_KEY_SECRET_FILE), explicit: 'REACH_API_KEY_SECRET_FILE' in present },
    ),
  });
}
