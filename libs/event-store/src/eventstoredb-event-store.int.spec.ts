import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { testUrls } from '@reach/testing';
import { describeEventStoreContract, type EventStoreUnderTest } from '../test/event-store.contract';
import { EventStoreDbEventStore } from './eventstoredb-event-store';

/**
 * The contract against EventStoreDB / KurrentDB: EVENTSTORE_URL when set, else a throwaway
 * container when a container runtime is there. Otherwise the suite is registered as skipped,
 * with the reason in its name and one warning line, so a run never passes it silently.
 */
const IMAGE = 'eventstore/eventstore:24.10';
const HTTP_PORT = 2113;

const skipReason = reasonToSkip();

if (skipReason === null) {
  describeEventStoreContract('EventStoreDbEventStore contract', startStore);
} else {
  // Straight to stderr: jest drops console output of a file whose tests are all skipped.
  process.stderr.write(`\nEventStoreDB contract suite SKIPPED: ${skipReason}\n`);
  describe.skip(`EventStoreDbEventStore contract SKIPPED (${skipReason})`, () => {
    describeEventStoreContract('EventStoreDbEventStore contract', () => Promise.reject(new Error(skipReason)));
  });
}

function reasonToSkip(): string | null {
  if (testUrls.eventStore) return null;
  const runtime = containerRuntime();
  return runtime.available ? null : `EVENTSTORE_URL is not set and no container runtime is available (${runtime.reason})`;
}

/** Decided synchronously: tests must be registered (or skipped) before any of them runs. */
function containerRuntime(): { available: true } | { available: false; reason: string } {
  if (process.env['DOCKER_HOST']) return { available: true };
  const runtimeDir = process.env['XDG_RUNTIME_DIR'];
  const sockets = [
    '/var/run/docker.sock',
    join(homedir(), '.docker', 'run', 'docker.sock'),
    join(homedir(), '.colima', 'default', 'docker.sock'),
    '/run/podman/podman.sock',
    ...(runtimeDir ? [join(runtimeDir, 'podman', 'podman.sock'), join(runtimeDir, 'docker.sock')] : []),
  ];
  if (sockets.some((socket) => existsSync(socket))) return { available: true };
  return { available: false, reason: `DOCKER_HOST is unset and none of ${sockets.join(', ')} exists` };
}

async function startStore(): Promise<EventStoreUnderTest> {
  if (testUrls.eventStore) {
    const store = EventStoreDbEventStore.fromConnectionString(testUrls.eventStore);
    return { store, teardown: () => store.close() };
  }
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(IMAGE)
    .withEnvironment({
      EVENTSTORE_INSECURE: 'true',
      EVENTSTORE_RUN_PROJECTIONS: 'None',
      EVENTSTORE_MEM_DB: 'true',
      EVENTSTORE_CLUSTER_SIZE: '1',
    })
    .withExposedPorts(HTTP_PORT)
    .withWaitStrategy(Wait.forHttp('/health/live', HTTP_PORT).forStatusCodeMatching((status) => status >= 200 && status < 300))
    .withStartupTimeout(240_000)
    .start();
  const store = EventStoreDbEventStore.fromConnectionString(
    `esdb://${container.getHost()}:${container.getMappedPort(HTTP_PORT)}?tls=false`,
  );
  return {
    store,
    async teardown() {
      await store.close();
      await container.stop();
    },
  };
}
