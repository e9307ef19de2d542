import { startPlatformService } from '@reach/infrastructure';
import { loadConfig } from './config';
import { DispatcherModule } from './dispatcher.module';

void startPlatformService({
  name: 'dispatcher',
  loadConfig,
  port: (config) => config.DISPATCHER_PORT,
  databasePoolSize: (config) => config.DATABASE_POOL_SIZE,
  module: (platform, logger, config) => DispatcherModule.forRoot(platform, logger, config),
});
