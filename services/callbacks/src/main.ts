import { startPlatformService } from '@reach/infrastructure';
import { loadConfig } from './config';
import { CallbacksModule } from './callbacks.module';

void startPlatformService({
  name: 'callbacks',
  loadConfig,
  port: (config) => config.CALLBACKS_PORT,
  databasePoolSize: () => 4,
  module: (platform, logger) => CallbacksModule.forRoot(platform, logger),
});
