import type { FastifyInstance } from 'fastify';
import { LOGGER, openPlatformConnections } from '@reach/infrastructure';
import { Metrics, createLogger, failStartup, registerHttpMetrics, runService } from '@reach/service-runtime';
import { GATEWAY_CONFIG, loadConfig } from './config';
import { DeviceEdge } from './device-edge/device-edge.provider';
import { GatewayModule } from './gateway.module';
import { DialectErrorFilter } from './http/dialect-error.filter';
import { registerBodyParsers } from './http/request-body';
import { registerRequestContext } from './http/request-context.hook';
import { ReachErrorFilter } from './reach/reach-error.filter';
import { ReachCellErrorFilter } from './reachcell/reachcell-error.filter';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api-gateway', config.LOG_LEVEL);
  try {
    const platform = await openPlatformConnections(
      {
        service: 'api-gateway',
        databaseUrl: config.DATABASE_URL,
        natsUrl: config.NATS_URL,
        eventStoreUrl: config.EVENTSTORE_URL,
        namespace: config.REACH_NAMESPACE,
        streamReplicas: config.NATS_STREAM_REPLICAS,
        databasePoolSize: config.DATABASE_POOL_SIZE,
      },
      logger,
    );
    await runService({
      name: 'api-gateway',
      module: GatewayModule.forRoot(platform, logger, config),
      host: config.HOST,
      port: config.PORT,
      logger,
      bodyParser: false,
      configure: (app) => {
        // First, so every later hook and the handlers run with the request's trace and log context.
        registerRequestContext(app.getHttpAdapter().getInstance() as unknown as FastifyInstance);
        registerBodyParsers(app.getHttpAdapter().getInstance() as unknown as FastifyInstance);
        registerHttpMetrics(app.getHttpAdapter().getInstance() as unknown as FastifyInstance, app.get(Metrics));
        // Devices' WebSocket upgrades on /v1/device go to the channel owner's device gateway.
        app.get(DeviceEdge).attach(app.getHttpServer());
        // Unmatched routes and anything that escapes a controller still answer in a dialect's format.
        app.useGlobalFilters(
          new DialectErrorFilter(new ReachErrorFilter(app.get(LOGGER), app.get(GATEWAY_CONFIG)), new ReachCellErrorFilter(app.get(LOGGER))),
        );
        if (config.LOG_REQUESTS) {
          const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
          fastify.addHook('onResponse', async (req, reply) => {
            logger.info({ method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
          });
        }
      },
    });
  } catch (error) {
    failStartup(logger, 'api-gateway', error);
  }
}

void main();
