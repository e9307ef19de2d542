import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseApiKeySecret } from '@reach/accounts';
import { parse } from 'yaml';
import { isPinnedImage, root, SECRET_LIKE, SERVICE_NAMES, SERVICE_PORTS, URL_WITH_CREDENTIALS, VERSION, type ServiceName } from './deployables';

/**
 * deploy/: the compose file, the Dockerfile and the container health check, checked without a
 * container engine (none runs here or in CI). The compose file is parsed and its rules
 * asserted, and `docker compose config` (or docker-compose) validates it when installed; the
 * Dockerfile is read line by line; the health check runs against a local HTTP server.
 */
const deploy = join(root, 'deploy');
const read = (...path: string[]) => readFileSync(join(root, ...path), 'utf8');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
}
const compose = parse(read('deploy', 'compose.yaml'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const ENGINES = ['postgres', 'nats', 'eventstore'];
const envFiles = (service: ComposeService) => [service.env_file ?? []].flat();

describe('isPinnedImage (what these checks call pinned)', () => {
  it.each(['node:20.19.5-bookworm-slim', 'nats:2.11.9-alpine', 'ghcr.io/cloudnative-pg/postgresql:17.5', 'registry:5000/reach/reach:0.1.0', `busybox@sha256:${'a'.repeat(64)}`])(
    'accepts %s',
    (image) => expect(isPinnedImage(image)).toBe(true),
  );
  it.each(['node', 'node:latest', 'node:20', 'node:20-slim', 'registry:5000/reach/reach', 'postgres:bookworm'])('refuses %s', (image) =>
    expect(isPinnedImage(image)).toBe(false),
  );
});

describe('deploy/compose.yaml', () => {
  it('runs the engines, a one-shot migration and the five services', () => {
    expect(Object.keys(services).sort()).toEqual([...ENGINES, 'migrate', ...SERVICE_NAMES].sort());
    expect(services['migrate']?.command).toEqual(['node', 'tools/reachctl/bin/reachctl.js', 'migrate', '--json']);
    for (const name of SERVICE_NAMES) {
      expect(services[name]?.command).toEqual(['node', `services/${name}/dist/main.js`]);
      expect(services[name]?.environment?.[SERVICE_PORTS[name].variable]).toBe(String(SERVICE_PORTS[name].port));
    }
  });

  it('pins every image to an exact version, and builds the Reach image from deploy/Dockerfile', () => {
    for (const [name, service] of Object.entries(services)) {
      expect({ name, pinned: isPinnedImage(service.image ?? '') }).toEqual({ name, pinned: true });
    }
    for (const name of ['migrate', ...SERVICE_NAMES]) {
      expect(services[name]?.image).toBe(`reach:${VERSION}`);
      expect(services[name]?.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
    }
    // The same engine versions as the Kubernetes manifests.
    expect(read('k8s', 'base', 'nats.yaml')).toContain(`image: ${services['nats']?.image}`);
    expect(read('k8s', 'base', 'eventstore.yaml')).toContain(`image: ${services['eventstore']?.image}`);
  });

  it('gives every service a health check or makes it wait for healthy ones', () => {
    const healthy = (name: string) => {
      const check = services[name]?.healthcheck;
      return check !== undefined && check.disable !== true && (check.test ?? []).length > 1;
    };
    for (const [name, service] of Object.entries(services)) {
      const dependencies = Object.entries(service.depends_on ?? {});
      for (const [dependency, { condition }] of dependencies) {
        if (condition === 'service_completed_successfully') expect({ name, dependency }).toEqual({ name, dependency: 'migrate' });
        else expect({ name, dependency, condition, healthy: healthy(dependency) }).toEqual({ name, dependency, condition: 'service_healthy', healthy: true });
      }
      expect({ name, checked: healthy(name) || dependencies.length > 0 }).toEqual({ name, checked: true });
    }
    expect(Object.keys(services['migrate']?.depends_on ?? {}).sort()).toEqual(['nats', 'postgres']);
    for (const name of SERVICE_NAMES) {
      expect(healthy(name)).toBe(true);
      expect(services[name]?.healthcheck?.test).toEqual(['CMD', 'node', 'deploy/healthcheck.cjs', name]);
      expect(services[name]?.depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        postgres: { condition: 'service_healthy' },
        nats: { condition: 'service_healthy' },
        eventstore: { condition: 'service_healthy' },
      });
    }
  });

  it('runs NATS with JetStream and a single insecure EventStoreDB node that the services use', () => {
    expect(services['nats']?.command).toContain('-js');
    expect(services['eventstore']?.environment).toMatchObject({ EVENTSTORE_INSECURE: 'true', EVENTSTORE_CLUSTER_SIZE: '1' });
    for (const name of ['migrate', ...SERVICE_NAMES]) {
      expect(services[name]?.environment).toMatchObject({ NATS_URL: 'nats://nats:4222', EVENTSTORE_URL: 'esdb://eventstore:2113?tls=false' });
    }
    // Only the API is published on the host.
    expect(Object.entries(services).filter(([, service]) => service.ports).map(([name]) => name)).toEqual(['api-gateway']);
  });

  it('takes secrets only from deploy/secrets.env, which git ignores and the image never sees', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        expect({ name, key, inline: SECRET_LIKE.test(key) || URL_WITH_CREDENTIALS.test(String(value)) }).toEqual({ name, key, inline: false });
      }
    }
    for (const name of ['postgres', 'migrate', ...SERVICE_NAMES]) expect(envFiles(services[name]!)).toEqual(['secrets.env']);
    expect(read('deploy', '.gitignore').split('\n')).toContain('secrets.env');
    expect(read('.dockerignore').split('\n')).toContain('deploy/secrets.env');
  });

  it('documents the secrets in an example file that holds no usable secret', () => {
    const example = read('deploy', 'secrets.example.env');
    expect(example).toMatch(/^# EXAMPLE ONLY: holds no real secret/);
    const values = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(Object.keys(values).sort()).toEqual(['DATABASE_URL', 'POSTGRES_PASSWORD', 'REACH_API_KEY_SECRET']);
    for (const value of Object.values(values)) expect(value).toContain('REPLACE_ME');
    // The callbacks service refuses to start with the placeholder.
    expect(() => parseApiKeySecret(values['REACH_API_KEY_SECRET']!)).toThrow(/neither hex nor base64/);
  });
});

/** Decided when the file loads: a check is registered, or skipped with its reason in its name. */
function composeCli(): { command: string; args: string[] } | { skip: string } {
  for (const candidate of [
    { command: 'docker', args: ['compose'] },
    { command: 'docker-compose', args: [] },
  ]) {
    const probe = spawnSync(candidate.command, [...candidate.args, 'version'], { encoding: 'utf8', timeout: 20_000 });
    if (probe.status === 0) return candidate;
  }
  return { skip: 'neither `docker compose` (the Compose plugin) nor `docker-compose` is installed (.ci/run installs docker-compose)' };
}

const cli = composeCli();
if ('skip' in cli) {
  // Straight to stderr: jest drops console output of a file whose tests are all skipped.
  process.stderr.write(`\ndocker compose config SKIPPED: ${cli.skip}\n`);
  it.skip(`docker compose config SKIPPED (${cli.skip})`, () => undefined);
} else {
  describe(`${[cli.command, ...cli.args].join(' ')} config`, () => {
    // A copy, so the check needs no deploy/secrets.env in the work tree: the example stands in.
    let copy: string;
    beforeAll(() => {
      copy = mkdtempSync(join(tmpdir(), 'reach-compose-'));
      mkdirSync(join(copy, 'deploy'));
      cpSync(join(deploy, 'compose.yaml'), join(copy, 'deploy', 'compose.yaml'));
    });
    afterAll(() => rmSync(copy, { recursive: true, force: true }));
    const config = () => spawnSync(cli.command, [...cli.args, '-f', join(copy, 'deploy', 'compose.yaml'), 'config', '-q'], { encoding: 'utf8', timeout: 30_000 });

    it('refuses to run without deploy/secrets.env', () => {
      const result = config();
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('secrets.env');
    });

    it('accepts the file (no daemon needed) once secrets.env exists', () => {
      cpSync(join(deploy, 'secrets.example.env'), join(copy, 'deploy', 'secrets.env'));
      const result = config();
      expect({ status: result.status, stderr: result.stderr.trim() }).toEqual({ status: 0, stderr: '' });
    });
  });
}

describe('deploy/Dockerfile', () => {
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = read('deploy', 'Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: string[][] = [];
  for (const instruction of instructions) {
    if (/^FROM /i.test(instruction)) stages.push([instruction]);
    else stages.at(-1)?.push(instruction);
  }
  const runtime = stages.at(-1) ?? [];
  const build = stages.find((stage) => / AS build$/i.test(stage[0] ?? '')) ?? [];

  it('builds from base images pinned to an exact version', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const image = /^FROM (?:--platform=\S+ )?(\S+)/i.exec(stage[0]!)?.[1] ?? '';
      expect({ image, pinned: isPinnedImage(image) }).toEqual({ image, pinned: true });
      expect(image).toMatch(/^node:20\.\d+\.\d+-(bookworm-slim|alpine)/);
    }
  });

  it('compiles in a build stage: npm ci with dev dependencies, then npm run build', () => {
    expect(build.some((line) => /^RUN npm ci\b/.test(line) && !line.includes('--omit=dev'))).toBe(true);
    expect(build.some((line) => /^RUN npm run build\b/.test(line))).toBe(true);
    // The gateway serves this file at run time.
    expect(build.join('\n')).toContain('cp services/api-gateway/openapi.json /out/services/api-gateway/openapi.json');
  });

  it('ships production dependencies and compiled output only, runs as a non-root user, with a health check', () => {
    const npmCi = runtime.filter((line) => /npm ci\b/.test(line));
    expect(npmCi).toHaveLength(1);
    expect(npmCi[0]).toContain('--omit=dev');
    // No copy of the whole context into the runtime image: only what the build stage collected.
    expect(runtime.filter((line) => /^COPY /i.test(line))).toEqual([
      'COPY --from=manifests /manifests/ ./',
      'COPY --from=build /out/ ./',
      'COPY deploy/healthcheck.cjs deploy/healthcheck.cjs',
    ]);
    const users = runtime.filter((line) => /^USER /i.test(line));
    expect(users).toHaveLength(1);
    expect(users[0]).not.toMatch(/^USER (root|0)(:|$)/i);
    expect(runtime.filter((line) => /^HEALTHCHECK /i.test(line))).toEqual([expect.stringContaining('CMD ["node", "deploy/healthcheck.cjs"]')]);
    expect(runtime.find((line) => /^CMD /i.test(line))).toContain('exec node \\"services/${REACH_SERVICE}/dist/main.js\\"');
  });

  it('is built from a context without installed modules, build output or secrets', () => {
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git', '.data', 'deploy/secrets.env']));
  });
});

describe('deploy/healthcheck.cjs', () => {
  let server: Server;
  let status = 200;
  let port: number;
  beforeAll(async () => {
    server = createServer((request, response) => response.writeHead(request.url === '/health' ? status : 404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const check = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(deploy, 'healthcheck.cjs'), ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it.each(SERVICE_NAMES)('probes GET /health of %s on the port its variable names', async (name: ServiceName) => {
    status = 200;
    expect(await check([name], { [SERVICE_PORTS[name].variable]: String(port) })).toEqual({ code: 0, stderr: '' });
  });

  it('takes the service from REACH_SERVICE, as the image does, and fails on an unhealthy answer', async () => {
    status = 200;
    expect((await check([], { REACH_SERVICE: 'dispatcher', DISPATCHER_PORT: String(port) })).code).toBe(0);
    status = 503;
    expect((await check([], { REACH_SERVICE: 'dispatcher', DISPATCHER_PORT: String(port) })).code).toBe(1);
  });

  it("fails when nothing listens, and on a service it doesn't know", async () => {
    server.close();
    const down = await check(['projector'], { PROJECTOR_PORT: String(port) });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^healthcheck: projector on port \d+: /);
    const unknown = await check(['billing'], {});
    expect(unknown).toEqual({ code: 1, stderr: expect.stringContaining('unknown service "billing"') });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });

  it('knows the port variable and default of every service, as its config.ts declares them', () => {
    const source = read('deploy', 'healthcheck.cjs');
    for (const name of SERVICE_NAMES) {
      const key = name.includes('-') ? `'${name}'` : name;
      expect(source).toContain(`${key}: ['${SERVICE_PORTS[name].variable}', ${SERVICE_PORTS[name].port}]`);
    }
  });
});
