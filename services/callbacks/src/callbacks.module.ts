import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { PlatformModule, type PlatformConnections } from '@reach/infrastructure';
import { HealthModule } from '@reach/service-runtime';

/**
 * The callbacks service owns every outbound notification (status callbacks, account webhooks).
 * In this release it connects to Postgres and NATS and reports its health; deliveries arrive
 * with the webhooks work.
 */
@Module({})
export class CallbacksModule {
  static forRoot(platform: PlatformConnections, logger: Logger): DynamicModule {
    return { module: CallbacksModule, imports: [HealthModule.forRoot(), PlatformModule.forRoot(platform, logger)] };
  }
}
