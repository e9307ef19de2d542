import type { Server } from 'node:http';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER, PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { ChannelOwnerCache, ChannelOwnerDirectory } from '@reach/messaging';
import { Metrics } from '@reach/service-runtime';
import { DeviceEdgeMetrics } from './device-edge.metrics';
import { DeviceUpgradeProxy } from './device-upgrade.proxy';

export interface DeviceEdgeSettings {
  /** DEVICE_EDGE_MAX_CONNECTIONS: device connections this replica proxies at once. */
  readonly maxConnections: number;
  /** NATS_STREAM_REPLICAS: replicas of the channel-owner bucket when this replica creates it. */
  readonly streamReplicas: number;
}

export const DEVICE_EDGE_SETTINGS = Symbol('DeviceEdgeSettings');

/**
 * The api-gateway's `/v1/device`: follows the channel owner (NATS KV) and proxies devices'
 * upgrades to its device gateway. Until the owner is loaded, and whenever none is published,
 * devices are answered 503 and retry. At shutdown the proxied connections are cut (after
 * readiness turned false), so the devices reconnect through another replica.
 */
@Injectable()
export class DeviceEdge implements OnModuleInit, BeforeApplicationShutdown {
  private readonly proxy: DeviceUpgradeProxy;
  private cache: ChannelOwnerCache | null = null;

  constructor(
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(DEVICE_EDGE_SETTINGS) private readonly settings: DeviceEdgeSettings,
    metrics: Metrics,
  ) {
    const edgeMetrics = new DeviceEdgeMetrics(metrics.registry, () => this.proxy.activeConnections);
    this.proxy = new DeviceUpgradeProxy({
      owner: () => this.cache?.current() ?? null,
      maxConnections: settings.maxConnections,
      logger: logger.child({ component: 'device-edge' }),
      onUpgrade: (outcome) => edgeMetrics.upgrade(outcome),
    });
  }

  /** Takes over the HTTP server's upgrade requests (call before it listens). */
  attach(server: Server): void {
    this.proxy.attach(server);
  }

  async onModuleInit(): Promise<void> {
    const directory = await ChannelOwnerDirectory.open(this.platform.js, this.platform.names, { replicas: this.settings.streamReplicas });
    const cache = new ChannelOwnerCache(directory, this.logger.child({ component: 'channel-owner' }));
    await cache.start();
    this.cache = cache;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.proxy.detach();
    this.proxy.closeAll();
    await this.cache?.stop();
  }
}
