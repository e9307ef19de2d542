import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { Logger } from 'pino';
import { LOGGER, PLATFORM, PlatformModule, type PlatformConnections } from '@reach/infrastructure';
import { MESSAGES_PROJECTION, ProjectionRunner, projectMessages } from '@reach/read-models';
import { HealthModule, Metrics } from '@reach/service-runtime';
import type { ProjectorConfig } from './config';
import { createEventRelay } from './event-relay';

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
    const relayed = new Counter({ name: 'reach_relay_events_total', help: 'Events published to JetStream by the relay', registers: [metrics.registry] });
    const projected = new Counter({
      name: 'reach_projection_events_total',
      help: 'Events folded into read models',
      labelNames: ['projection'],
      registers: [metrics.registry],
    });
    this.runners = [
      createEventRelay({ ...platform, logger, maxBatch: config.RELAY_MAX_BATCH, onCommitted: (n) => relayed.inc(n) }),
      new ProjectionRunner({
        name: MESSAGES_PROJECTION,
        store: platform.store,
        db: platform.db,
        pool: platform.pool,
        logger: logger.child({ component: MESSAGES_PROJECTION }),
        maxBatch: config.PROJECTION_MAX_BATCH,
        project: projectMessages,
        onCommitted: (_p, n) => projected.inc({ projection: MESSAGES_PROJECTION }, n),
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
