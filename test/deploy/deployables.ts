import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');

/** The platform's version: the tag of the Reach image in compose and in k8s/. */
export const VERSION = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

export const SERVICE_NAMES = ['api-gateway', 'dispatcher', 'scheduler', 'callbacks', 'projector'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServicePort {
  /** The variable the service reads its port from (`PORT`, `DISPATCHER_PORT`, …). */
  readonly variable: string;
  /** Its default, which the deployments rely on. */
  readonly port: number;
}

/** Read from each service's config.ts, so the deployment checks follow the code. */
export const SERVICE_PORTS: Readonly<Record<ServiceName, ServicePort>> = Object.fromEntries(
  SERVICE_NAMES.map((name) => {
    const source = readFileSync(join(root, 'services', name, 'src', 'config.ts'), 'utf8');
    const found = /\b([A-Z_]*PORT): env\.port\((\d+)\)/.exec(source);
    if (!found) throw new Error(`services/${name}/src/config.ts declares no port (\`…PORT: env.port(n)\`)`);
    return [name, { variable: found[1]!, port: Number(found[2]) }];
  }),
) as Record<ServiceName, ServicePort>;

/** Names that must never carry an inline value: they hold or embed a secret. */
export const SECRET_LIKE = /SECRET|PASSW|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|DATABASE_URL/i;
/** `scheme://user:password@…` */
export const URL_WITH_CREDENTIALS = /\w+:\/\/[^/\s:@]+:[^/\s@]+@/;

/**
 * An exact version: a digest, or a tag of at least major.minor (`17.5`, `2.11.9-alpine`,
 * `24.10.0-bookworm-slim`); never `latest`, a bare major (`node:20`) or no tag at all.
 */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : undefined;
  return tag !== undefined && /^v?\d+\.\d+(\.\d+)?([-.+][\w.-]+)?$/.test(tag);
}
