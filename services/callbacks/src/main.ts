import { startPlatformService } from '@reach/infrastructure';
import { loadConfig } from './config';
import { CallbacksModule } from './callbacks.module';

void startPlatformService({
  name: 'callbacks',
  loadConfig,
  port: (config) => config.CALLBACKS_PORT,
  databasePoolSize: () => 8,
  module: (platform, logger, config) => CallbacksModule.forRoot(platform, logger, config),
});
