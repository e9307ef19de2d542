import { startPlatformService } from '@reach/infrastructure';
import { loadConfig } from './config';
import { SchedulerModule } from './scheduler.module';

void startPlatformService({
  name: 'scheduler',
  loadConfig,
  port: (config) => config.SCHEDULER_PORT,
  databasePoolSize: (config) => config.DATABASE_POOL_SIZE,
  module: (platform, logger, config) => SchedulerModule.forRoot(platform, logger, config),
});
