import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { dropDatabase } from '@reach/testing';

/**
 * A platform of a suite's own (database, NATS namespace, ports), for suites that stop, kill or
 * replace services and so must not disturb the shared platform of global-setup.ts. Each such
 * suite takes its own port offset from the shared platform's base port.
 */
const root = path.resolve(__dirname, '../..');

export type ServiceName = 'api-gateway' | 'dispatcher' | 'scheduler' | 'callbacks' | 'projector';

const portVariables: Record<ServiceName, string> = {
  'api-gateway': 'PORT',
  dispatcher: 'DISPATCHER_PORT',
  scheduler: 'SCHEDULER_PORT',
  callbacks: 'CALLBACKS_PORT',
  projector: 'PROJECTOR_PORT',
};

export interface OwnPlatform {
  readonly basePort: number;
  readonly gatewayUrl: string;
  readonly databaseUrl: string;
  readonly env: NodeJS.ProcessEnv;
  /** Children started by the launcher, by service name. */
  child(name: ServiceName): ChildProcess;
  /** Starts one more process of a service on `port`, resolving once it answers /ready. */
  startService(name: ServiceName, port: number): Promise<ChildProcess>;
  reachctl<T>(...args: string[]): Promise<T>;
  withDatabase<T>(work: (client: Client) => Promise<T>): Promise<T>;
  /** Stops everything it started, then drops its database. */
  stop(): Promise<void>;
}

/** Starts the whole platform on base port = the shared platform's + `portOffset`. */
export async function startOwnPlatform(label: string, portOffset: number, settings: Record<string, string> = {}): Promise<OwnPlatform> {
  const basePort = Number(process.env['E2E_BASE_PORT_IN_USE'] ?? 4300) + portOffset;
  const suffix = randomBytes(4).toString('hex');
  const database = new URL(process.env['E2E_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/reach');
  database.pathname = `/reach_e2e_${label}_${suffix}`;
  const databaseUrl = database.toString();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    NATS_URL: process.env['E2E_NATS_URL'] ?? 'nats://127.0.0.1:4222',
    REACH_NAMESPACE: `e2e${label}${suffix}`,
    REACH_API_KEY_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    ...settings,
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startPlatform } = require(path.join(root, 'scripts/platform-launcher.cjs'));
  const launched: { children: Array<{ name: string; child: ChildProcess }>; stop(): Promise<void> } = await startPlatform({
    env,
    basePort,
    output: 'inherit',
  });
  const extra: ChildProcess[] = [];

  return {
    basePort,
    gatewayUrl: `http://127.0.0.1:${basePort}`,
    databaseUrl,
    env,
    child(name) {
      const found = launched.children.find((c) => c.name === name)?.child;
      if (!found) throw new Error(`the platform has no ${name}`);
      return found;
    },
    async startService(name, port) {
      const child = spawn(process.execPath, [path.join(root, `services/${name}/dist/main.js`)], {
        env: { ...env, [portVariables[name]]: String(port) },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      extra.push(child);
      await waitReady(child, name, port);
      return child;
    },
    async reachctl<T>(...args: string[]): Promise<T> {
      const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'tools/reachctl/bin/reachctl.js'), ...args, '--json'], { env });
      return JSON.parse(stdout) as T;
    },
    async withDatabase(work) {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return await work(client);
      } finally {
        await client.end();
      }
    },
    async stop() {
      await Promise.all(extra.map((child) => stopProcess(child)));
      await launched.stop();
      await dropDatabase(databaseUrl);
    },
  };
}

async function waitReady(child: ChildProcess, name: string, port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves once the process is gone. */
export function exited(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      try {
        process.kill(pid, 0);
        setTimeout(check, 25);
      } catch {
        resolve();
      }
    };
    check();
  });
}

/** SIGTERM (graceful shutdown), then waits for the process to be gone. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  const { pid } = child;
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await exited(pid);
}
