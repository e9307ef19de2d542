import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LoggerService } from '@nestjs/common';
import type { Logger } from 'pino';
import { startTracing } from '@reach/telemetry';
import { Readiness } from './health';

export interface ServiceOptions {
  readonly name: string;
  readonly module: unknown;
  readonly host?: string;
  readonly port: number;
  readonly logger: Logger;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit?: number;
  /** false when `configure` registers the body parsers itself. */
  readonly bodyParser?: boolean;
  /** Called after the app is created and before it listens (routes, parsers, error filters). */
  readonly configure?: (app: NestFastifyApplication) => void | Promise<void>;
}

/** Bridges Nest's own log lines into the process's pino logger. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}

/**
 * Starts one service process: tracing (when configured), Nest on Fastify, health/ready/metrics,
 * and graceful shutdown — on SIGTERM/SIGINT readiness turns false, Nest runs every
 * onApplicationShutdown hook (consumers finish in-flight work, NATS drains, pools close), the
 * spans still buffered are exported, then the process exits.
 */
export async function runService(options: ServiceOptions): Promise<NestFastifyApplication> {
  const { logger } = options;
  // Off unless the OTEL_* variables ask for it; its last spans are exported after Nest closed.
  const tracing = startTracing(options.name, logger);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  const app = await NestFactory.create<NestFastifyApplication>(
    options.module as never,
    new FastifyAdapter({ bodyLimit: options.bodyLimit ?? 1_048_576, trustProxy: true }),
    { logger: new PinoNestLogger(logger), abortOnError: false, bodyParser: options.bodyParser ?? true },
  );
  await options.configure?.(app);
  await app.listen(options.port, options.host ?? '0.0.0.0');
  logger.info({ port: options.port }, `${options.name} listening`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${options.name} shutting down`);
    app.get(Readiness).markDraining();
    const forced = setTimeout(() => {
      logger.error('shutdown took longer than 25 s; exiting');
      process.exit(1);
    }, 25_000);
    forced.unref();
    try {
      await app.close();
      await tracing.shutdown();
      logger.info(`${options.name} stopped`);
      logger.flush?.();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return app;
}

/** Prints a start-up failure plainly (which dependency, where, how to fix) and exits non-zero. */
export function failStartup(logger: Logger, service: string, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  logger.fatal({ err: error }, `${service} could not start: ${message}`);
  process.stderr.write(`\n${service} could not start:\n${message}\n\n`);
  process.exit(1);
}
