import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER, PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { Metrics } from '@reach/service-runtime';
import { SCHEDULER_CONFIG, type SchedulerConfig } from './config';
import { startScheduler, type RunningScheduler } from './scheduler';
import { createSchedulerMetrics } from './scheduler.metrics';

/** Runs the scheduler for the life of the Nest application. */
@Injectable()
export class SchedulerWorkers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private scheduler: RunningScheduler | null = null;

  constructor(
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
    private readonly metrics: Metrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { db, store, nc, names } = this.platform;
    const metrics = createSchedulerMetrics(this.metrics.registry);
    this.scheduler = await startScheduler({
      db,
      store,
      nc,
      names,
      logger: this.logger,
      settings: {
        batchSize: this.config.SCHEDULER_BATCH_SIZE,
        firingLoops: this.config.SCHEDULER_FIRING_LOOPS,
        maxSleepMs: this.config.SCHEDULER_MAX_SLEEP_MS,
        consumerConcurrency: this.config.SCHEDULER_CONSUMER_CONCURRENCY,
        pendingGaugeIntervalMs: this.config.SCHEDULER_PENDING_GAUGE_INTERVAL_MS,
      },
      onFired: metrics.onFired,
      onPendingCounted: metrics.onPendingCounted,
    });
    this.logger.info('scheduler started: recording and firing timers');
  }

  /** Before the platform's connections close: consumers settle their deliveries, the round in flight commits. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.scheduler?.stop();
    this.scheduler = null;
  }
}
