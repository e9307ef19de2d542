import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { PlatformModule, type PlatformConnections } from '@reach/infrastructure';
import { HealthModule } from '@reach/service-runtime';
import { SCHEDULER_CONFIG, type SchedulerConfig } from './config';
import { SchedulerWorkers } from './scheduler.workers';

/**
 * The scheduler owns durable timers: scheduled releases (`scheduledFor`) and validity-period
 * expiry (`expiresAt`). Every replica records and fires; the timers table splits the work.
 */
@Module({})
export class SchedulerModule {
  static forRoot(platform: PlatformConnections, logger: Logger, config: SchedulerConfig): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [HealthModule.forRoot(), PlatformModule.forRoot(platform, logger)],
      providers: [{ provide: SCHEDULER_CONFIG, useValue: config }, SchedulerWorkers],
    };
  }
}
