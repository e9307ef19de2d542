import type { DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createLogger, failStartup, runService, type Logger } from '@reach/service-runtime';
import { openPlatformConnections, type PlatformConnections } from './platform-connections';

/** The settings every service reads (see `commonEnv` in @reach/service-runtime). */
export interface PlatformServiceConfig {
  readonly DATABASE_URL: string;
  readonly NATS_URL: string;
  readonly EVENTSTORE_URL: string | null;
  readonly REACH_NAMESPACE: string;
  readonly LOG_LEVEL: string;
  readonly NATS_STREAM_REPLICAS: number;
}

export interface PlatformServiceOptions<C extends PlatformServiceConfig> {
  readonly name: string;
  /** Reads and validates the environment; a ConfigError is reported plainly and ends the process. */
  readonly loadConfig: () => Readonly<C>;
  readonly port: (config: C) => number;
  readonly host?: (config: C) => string;
  readonly databasePoolSize?: (config: C) => number;
  readonly module: (platform: PlatformConnections, logger: Logger, config: C) => DynamicModule;
  readonly bodyParser?: boolean;
  readonly configure?: (app: NestFastifyApplication, config: C, logger: Logger) => void | Promise<void>;
}

/**
 * The one boot sequence of every service: validate config, connect (creating the database,
 * migrating, setting up NATS), start Nest with health endpoints, and on any failure say what is
 * wrong and exit non-zero.
 */
export async function startPlatformService<C extends PlatformServiceConfig>(options: PlatformServiceOptions<C>): Promise<void> {
  let config: Readonly<C>;
  try {
    config = options.loadConfig();
  } catch (error) {
    process.stderr.write(`\n${options.name} could not start: ${error instanceof Error ? error.message : String(error)}\n\n`);
    process.exit(1);
  }
  const logger = createLogger(options.name, config.LOG_LEVEL);
  try {
    const platform = await openPlatformConnections(
      {
        service: options.name,
        databaseUrl: config.DATABASE_URL,
        natsUrl: config.NATS_URL,
        eventStoreUrl: config.EVENTSTORE_URL,
        namespace: config.REACH_NAMESPACE,
        streamReplicas: config.NATS_STREAM_REPLICAS,
        ...(options.databasePoolSize && { databasePoolSize: options.databasePoolSize(config) }),
      },
      logger,
    );
    await runService({
      name: options.name,
      module: options.module(platform, logger, config),
      port: options.port(config),
      ...(options.host && { host: options.host(config) }),
      logger,
      ...(options.bodyParser !== undefined && { bodyParser: options.bodyParser }),
      ...(options.configure && { configure: (app: NestFastifyApplication) => options.configure!(app, config, logger) }),
    });
  } catch (error) {
    failStartup(logger, options.name, error);
  }
}
