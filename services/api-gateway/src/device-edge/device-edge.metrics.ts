import { Counter, Gauge, type Registry } from 'prom-client';
import type { DeviceUpgradeOutcome } from './device-upgrade.proxy';

/**
 * `reach_device_edge_connections`: device connections this replica proxies to the channel owner
 * now; `reach_device_edge_upgrades_total{outcome}`: upgrade requests by how they ended
 * (`proxied`, `not-found`, `no-owner`, `owner-unreachable`, `over-limit`).
 */
export class DeviceEdgeMetrics {
  private readonly upgrades: Counter<'outcome'>;

  constructor(registry: Registry, openConnections: () => number) {
    const registers = [registry];
    new Gauge({
      name: 'reach_device_edge_connections',
      help: 'Device WebSocket connections proxied by this api-gateway to the channel owner, open now',
      registers,
      collect() {
        this.set(openConnections());
      },
    });
    this.upgrades = new Counter({
      name: 'reach_device_edge_upgrades_total',
      help: 'Device upgrade requests on /v1/device, by outcome (proxied, not-found, no-owner, owner-unreachable, over-limit)',
      labelNames: ['outcome'],
      registers,
    });
  }

  upgrade(outcome: DeviceUpgradeOutcome): void {
    this.upgrades.inc({ outcome });
  }
}
