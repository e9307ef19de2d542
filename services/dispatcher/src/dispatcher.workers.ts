import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { Logger } from 'pino';
import { AdvisoryLease } from '@reach/database';
import { LOGGER, PLATFORM, PhonePresenceDirectory, type PlatformConnections } from '@reach/infrastructure';
import { runDurableConsumer, type DurableConsumer } from '@reach/messaging';
import { Metrics } from '@reach/service-runtime';
import { DISPATCHER_CONFIG, type DispatcherConfig } from './config';
import { createChannelHealthMetrics } from './dispatcher.metrics';
import { DispatchPump } from './dispatch/dispatch-pump';
import { createQueuedMessageHandler } from './dispatch/queued-messages.consumer';
import { createSimulatedInboundHandler } from './inbound/simulated-inbound.consumer';
import { SimulatedChannel } from './simulated-channel/simulated-phone';

/**
 * The dispatcher's moving parts. Queue consumers run on every replica; the simulated phones
 * live in one process at a time — the holder of the `dispatcher:simulated` lease.
 */
@Injectable()
export class DispatcherWorkers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly pump: DispatchPump;
  private readonly channel: SimulatedChannel;
  private readonly lease: AdvisoryLease;
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
    this.pump.attach(this.channel);
    this.lease = new AdvisoryLease(platform.pool, 'dispatcher:simulated');
    createChannelHealthMetrics({
      registry: metrics.registry,
      db: platform.db,
      offlineNumbers: () => presence.offlineNumbers(),
      simulatedChannelHeld: () => this.lease.held,
      logger,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    const { nc, names, db, store } = this.platform;
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
   * The simulated phones live in one replica at a time: the holder of the channel's lease. It
   * resumes every backlog and unfinished message, then consumes released messages.
   */
  private async holdLease(): Promise<void> {
    try {
      if (!this.lease.held && (await this.lease.tryAcquire())) {
        this.logger.info('simulated channel lease acquired; resuming queued and unfinished messages');
        await this.pump.startChannels();
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
      this.logger.error({ err: error }, 'could not take the simulated channel lease');
    }
    this.leaseTimer = setTimeout(() => void this.holdLease(), 2000);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.unsubscribePresence?.();
    await Promise.all([...this.consumers, ...(this.queuedConsumer ? [this.queuedConsumer] : [])].map((c) => c.stop()));
    await this.pump.deactivate();
    await this.pump.stopChannels();
    await this.lease.release();
  }
}
