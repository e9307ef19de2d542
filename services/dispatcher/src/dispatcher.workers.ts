import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { Logger } from 'pino';
import { findDeviceByToken, findRevokedDevices, loadConnectorRoutes, loadConnectors, loadDeviceBindings, parseApiKeySecret } from '@reach/accounts';
import { AdvisoryLease } from '@reach/database';
import { LOGGER, PLATFORM, PhonePresenceDirectory, type PlatformConnections } from '@reach/infrastructure';
import { ChannelOwnerDirectory, PhonePresenceStore, runDurableConsumer, type DurableConsumer } from '@reach/messaging';
import { Metrics } from '@reach/service-runtime';
import { DISPATCHER_CONFIG, type DispatcherConfig } from './config';
import { createChannelHealthMetrics } from './dispatcher.metrics';
import { DispatchPump } from './dispatch/dispatch-pump';
import { createQueuedMessageHandler } from './dispatch/queued-messages.consumer';
import { createSimulatedInboundHandler } from './inbound/simulated-inbound.consumer';
import { DeviceChannel } from './device-channel/device-channel';
import { SimulatedChannel } from './simulated-channel/simulated-phone';
import { SmppChannel } from './smpp-channel/smpp-channel';

/**
 * The dispatcher's moving parts. Queue consumers run on every replica; the channels — simulated
 * phones, the device gateway and the SMPP binds — live in one process at a time: the holder of
 * the `dispatcher:channels` lease. It advertises its device gateway in NATS KV, where the public
 * edge (api-gateway) looks up where to send devices' WebSockets.
 */
@Injectable()
export class DispatcherWorkers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly pump: DispatchPump;
  private readonly channel: SimulatedChannel;
  private readonly devices: DeviceChannel;
  private readonly smpp: SmppChannel;
  private readonly lease: AdvisoryLease;
  /** This process as a channel owner (a new id per start, so a late withdraw never removes a successor). */
  private readonly ownerId = randomUUID();
  private owners: ChannelOwnerDirectory | null = null;
  private presenceStore: PhonePresenceStore | null = null;
  private channelsStarted = false;
  private consumers: DurableConsumer[] = [];
  private queuedConsumer: DurableConsumer | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private unsubscribePresence: (() => void) | null = null;

  constructor(
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(DISPATCHER_CONFIG) private readonly config: DispatcherConfig,
    private readonly presence: PhonePresenceDirectory,
    metrics: Metrics,
  ) {
    const outcomes = new Counter({
      name: 'reach_dispatch_outcomes_total',
      help: 'Message outcomes recorded by the dispatcher',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    this.pump = new DispatchPump({
      db: platform.db,
      store: platform.store,
      logger: logger.child({ component: 'dispatch-pump' }),
      onOutcome: (outcome) => outcomes.inc({ outcome }),
    });
    this.channel = new SimulatedChannel(
      {
        sendLatencyMs: config.SIM_SEND_LATENCY_MS,
        deliveryLatencyMs: config.SIM_DELIVERY_LATENCY_MS,
        failureRate: config.SIM_FAILURE_RATE,
        undeliveredRate: config.SIM_UNDELIVERED_RATE,
      },
      (e164) => presence.isOnline(e164),
    );
    const { db } = platform;
    this.devices = new DeviceChannel({
      host: config.DEVICE_GATEWAY_HOST,
      port: config.DEVICE_GATEWAY_PORT,
      findDeviceByToken: (token) => findDeviceByToken(db, token),
      findRevokedDevices: (deviceIds) => findRevokedDevices(db, deviceIds),
      loadBindings: () => loadDeviceBindings(db),
      setPresence: async (e164, online) => {
        if (!this.presenceStore) throw new Error('presence store not open yet');
        await this.presenceStore.set(e164, online, new Date());
      },
      logger: logger.child({ component: 'device-channel' }),
      registry: metrics.registry,
      heartbeatIntervalMs: config.DEVICE_HEARTBEAT_INTERVAL_MS,
      pacingWindowMs: config.DEVICE_PACING_WINDOW_MS,
      acceptedGraceMs: config.DEVICE_ACCEPTED_GRACE_MS,
      refreshIntervalMs: config.CHANNEL_REFRESH_INTERVAL_MS,
    });
    const secret = parseApiKeySecret(config.REACH_API_KEY_SECRET);
    this.smpp = new SmppChannel({
      db,
      logger: logger.child({ component: 'smpp-channel' }),
      loadConnectors: () => loadConnectors(db, secret),
      loadRoutes: () => loadConnectorRoutes(db),
      registry: metrics.registry,
      refreshIntervalMs: config.CHANNEL_REFRESH_INTERVAL_MS,
    });
    this.pump.attach(this.channel, this.devices, this.smpp);
    this.lease = new AdvisoryLease(platform.pool, 'dispatcher:channels');
    createChannelHealthMetrics({
      registry: metrics.registry,
      db: platform.db,
      offlineNumbers: () => presence.offlineNumbers(),
      channelsHeld: () => this.lease.held,
      logger,
    });
  }

  private get deviceGatewayUrl(): string {
    return this.config.DEVICE_GATEWAY_ADVERTISE_URL ?? `http://127.0.0.1:${this.config.DEVICE_GATEWAY_PORT}`;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { nc, js, names, db, store } = this.platform;
    this.presenceStore = await PhonePresenceStore.open(js, names);
    this.owners = await ChannelOwnerDirectory.open(js, names, { replicas: this.config.NATS_STREAM_REPLICAS });
    this.unsubscribePresence = this.presence.onChange((change) => {
      if (change.presence?.online !== false) this.pump.wake(change.e164);
    });
    this.consumers.push(
      await runDurableConsumer(nc, {
        names,
        stream: names.commandsStream,
        durable: names.consumerName('dispatcher', 'simulate-inbound'),
        filterSubjects: [names.commandSubject('simulate-inbound')],
        handler: createSimulatedInboundHandler({ db, store, isOnline: (e164) => this.presence.isOnline(e164) }),
        logger: this.logger.child({ component: 'simulated-inbound-consumer' }),
        // A phone may stay offline for long: keep retrying rather than dead-lettering quickly.
        maxDeliveries: 10_000,
      }),
    );
    await this.holdLease();
  }

  /**
   * The channels live in one replica at a time: the holder of the lease. It starts them (the
   * device gateway listens, the SMPP binds connect), tells the edge where its device gateway is,
   * resumes every backlog and unfinished message, then consumes released messages.
   */
  private async holdLease(): Promise<void> {
    try {
      if (!this.lease.held && (await this.lease.tryAcquire())) {
        this.logger.info('channels lease acquired; starting the channels and resuming queued and unfinished messages');
        this.channelsStarted = true;
        await this.pump.startChannels();
        await this.owners?.publish({ deviceGatewayUrl: this.deviceGatewayUrl, ownerId: this.ownerId }, new Date());
        await this.pump.activate();
        const { nc, names, store } = this.platform;
        this.queuedConsumer = await runDurableConsumer(nc, {
          names,
          stream: names.eventsStream,
          durable: names.consumerName('dispatcher', 'queued'),
          filterSubjects: [names.eventSubject('MessageQueued')],
          handler: createQueuedMessageHandler({ store, pump: this.pump }),
          logger: this.logger.child({ component: 'queued-consumer' }),
          concurrency: this.config.QUEUE_CONSUMER_CONCURRENCY,
          batchSize: 128,
          maxAckPending: 2000,
        });
        this.sweepTimer = setInterval(() => {
          this.pump.resumeUnfinished().catch((error) => this.logger.error({ err: error }, 'resume sweep failed'));
        }, 15_000);
      }
    } catch (error) {
      this.logger.error({ err: error }, 'could not take the channels lease or start the channels');
    }
    this.leaseTimer = setTimeout(() => void this.holdLease(), 2000);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.unsubscribePresence?.();
    await Promise.all([...this.consumers, ...(this.queuedConsumer ? [this.queuedConsumer] : [])].map((c) => c.stop()));
    // Devices go to the next owner: stop advertising before the gateway closes their sockets.
    await this.owners?.withdraw(this.ownerId).catch((error: unknown) => this.logger.warn({ err: error }, 'could not withdraw the device gateway advertisement'));
    await this.pump.deactivate();
    if (this.channelsStarted) await this.pump.stopChannels();
    await this.lease.release();
  }
}
