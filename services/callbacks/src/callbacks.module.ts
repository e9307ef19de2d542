import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { PlatformModule, type PlatformConnections } from '@reach/infrastructure';
import { HealthModule } from '@reach/service-runtime';
import { CALLBACKS_CONFIG, type CallbacksConfig } from './config';
import { CallbacksWorkers } from './callbacks.workers';

/** The callbacks service owns every outbound notification: status callbacks and account webhooks. */
@Module({})
export class CallbacksModule {
  static forRoot(platform: PlatformConnections, logger: Logger, config: CallbacksConfig): DynamicModule {
    return {
      module: CallbacksModule,
      imports: [HealthModule.forRoot(), PlatformModule.forRoot(platform, logger)],
      providers: [{ provide: CALLBACKS_CONFIG, useValue: config }, CallbacksWorkers],
    };
  }
}
