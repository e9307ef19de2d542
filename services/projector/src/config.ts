import { z } from 'zod';
import { commonEnv, env, parseConfig } from '@reach/service-runtime';

const ProjectorEnv = z.object({
  ...commonEnv,
  PROJECTOR_PORT: env.port(3004),
  PROJECTION_MAX_BATCH: env.int(500, 1),
  RELAY_MAX_BATCH: env.int(500, 1),
});

export type ProjectorConfig = z.infer<typeof ProjectorEnv>;

export function loadConfig(): Readonly<ProjectorConfig> {
  return parseConfig('projector', ProjectorEnv, process.env);
}
