import { startPlatformService } from '@reach/infrastructure';
import { loadConfig } from './config';
import { ProjectorModule } from './projector.module';

void startPlatformService({
  name: 'projector',
  loadConfig,
  port: (config) => config.PROJECTOR_PORT,
  module: (platform, logger, config) => ProjectorModule.forRoot(platform, logger, config),
});
