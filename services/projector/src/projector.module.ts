import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER, PLATFORM, PlatformModule, type PlatformConnections } from '@reach/infrastructure';
import { MESSAGES_PROJECTION, ProjectionRunner, canCountLogLag, projectMessages, readLogLag } from '@reach/read-models';
import { HealthModule, Metrics } from '@reach/service-runtime';
import type { ProjectorConfig } from './config';
import { RELAY_CHECKPOINT, createEventRelay } from './event-relay';
import { createProjectorMetrics } from './projector.metrics';

const CONFIG = Symbol('ProjectorConfig');

/** Starts the relay and the projections after boot; stops them (finishing the batch in hand) first at shutdown. */
@Injectable()
export class ProjectorWorkers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly runners: ProjectionRunner[];

  constructor(
    @Inject(PLATFORM) platform: PlatformConnections,
    @Inject(LOGGER) logger: Logger,
    @Inject(CONFIG) config: ProjectorConfig,
    metrics: Metrics,
  ) {
    const measured = createProjectorMetrics({
      registry: metrics.registry,
      readLag: (name) => readLogLag(platform, name, new Date()),
      countsLagEvents: canCountLogLag(platform.store),
      relayCheckpoint: RELAY_CHECKPOINT,
      projections: [MESSAGES_PROJECTION],
      logger,
    });
    this.runners = [
      createEventRelay({ ...platform, logger, maxBatch: config.RELAY_MAX_BATCH, onCommitted: (n) => measured.onRelayed(n) }),
      new ProjectionRunner({
        name: MESSAGES_PROJECTION,
        store: platform.store,
        db: platform.db,
        pool: platform.pool,
        logger: logger.child({ component: MESSAGES_PROJECTION }),
        maxBatch: config.PROJECTION_MAX_BATCH,
        project: projectMessages,
        // Timings come only from events applied for the first time, and only once their batch committed.
        onCommitted: (_p, n, projected) => measured.onProjected(MESSAGES_PROJECTION, n, projected.timings),
      }),
    ];
  }

  onApplicationBootstrap(): void {
    for (const runner of this.runners) runner.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
  }
}

@Module({})
export class ProjectorModule {
  static forRoot(platform: PlatformConnections, logger: Logger, config: ProjectorConfig): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [HealthModule.forRoot(), PlatformModule.forRoot(platform, logger)],
      providers: [{ provide: CONFIG, useValue: config }, ProjectorWorkers],
    };
  }
}
