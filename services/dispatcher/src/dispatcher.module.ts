import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { PhonePresenceDirectory, PlatformModule, type PlatformConnections } from '@reach/infrastructure';
import { HealthModule } from '@reach/service-runtime';
import { DISPATCHER_CONFIG, type DispatcherConfig } from './config';
import { DispatcherWorkers } from './dispatcher.workers';

@Module({})
export class DispatcherModule {
  static forRoot(platform: PlatformConnections, logger: Logger, config: DispatcherConfig): DynamicModule {
    return {
      module: DispatcherModule,
      imports: [HealthModule.forRoot(), PlatformModule.forRoot(platform, logger)],
      providers: [{ provide: DISPATCHER_CONFIG, useValue: config }, PhonePresenceDirectory, DispatcherWorkers],
    };
  }
}
