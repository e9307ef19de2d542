import { z } from 'zod';
import { commonEnv, env, parseConfig } from '@reach/service-runtime';

const CallbacksEnv = z.object({ ...commonEnv, CALLBACKS_PORT: env.port(3003) });

export type CallbacksConfig = z.infer<typeof CallbacksEnv>;

export function loadConfig(): Readonly<CallbacksConfig> {
  return parseConfig('callbacks', CallbacksEnv, process.env);
}
