import { connect, DebugEvents, Events, type NatsConnection, type Status } from 'nats';
import type { Logger } from 'pino';
import { isClosedConnectionError } from './nats-errors';

export interface ConnectNatsOptions {
  /** One server URL or a comma-separated list, e.g. `nats://127.0.0.1:4222`. */
  readonly url: string;
  /** Connection name as the server shows it (`nats server report connections`). */
  readonly name: string;
  readonly logger: Logger;
}

export type NatsStartupErrorCode = 'NATS_UNREACHABLE' | 'JETSTREAM_UNAVAILABLE';

/** The platform cannot start without NATS; the message says where we looked and what to run. */
export class NatsStartupError extends Error {
  override readonly name = 'NatsStartupError';

  constructor(
    readonly code: NatsStartupErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Connects to NATS and checks that JetStream answers. The first connect fails fast (no waiting
 * for a server that is not there); once connected, the client reconnects forever, buffering
 * publishes while the server is away, and logs every status change.
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const logger = options.logger.child({ component: 'nats', connection: options.name });
  const servers = options.url.split(',').map((url) => url.trim()).filter((url) => url.length > 0);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name,
      waitOnFirstConnect: false,
      // Capturing an async stack trace for every request/publish costs more than the publish itself
      // on the relay's hot path; errors still carry their own stacks.
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      reconnectJitter: 500,
      // Detects a half-open TCP connection within about a minute instead of the default six.
      pingInterval: 20_000,
      maxPingOut: 3,
    });
  } catch (error) {
    throw new NatsStartupError(
      'NATS_UNREACHABLE',
      `NATS is not reachable at ${options.url} (${describe(error)}). ` +
        'Start a server with JetStream enabled, e.g. `nats-server -js`, or point NATS_URL at one.',
      { cause: error },
    );
  }

  try {
    await nc.jetstreamManager({ checkAPI: true });
  } catch (error) {
    await nc.close().catch(() => undefined);
    throw new NatsStartupError(
      'JETSTREAM_UNAVAILABLE',
      `NATS at ${options.url} answers but JetStream does not (${describe(error)}). ` +
        'Start the server with JetStream enabled: `nats-server -js`.',
      { cause: error },
    );
  }

  logger.info({ server: nc.getServer(), version: nc.info?.version }, 'nats connected');
  void logStatus(nc, logger);
  void nc.closed().then((error) => {
    if (error) logger.error({ err: error }, 'nats connection closed with an error');
    else logger.info('nats connection closed');
  });
  return nc;
}

/**
 * Graceful shutdown: drains subscriptions (in-flight callbacks finish), flushes pending
 * publishes and acks, then closes. Safe to call on a connection that is already closed.
 */
export async function drainNats(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  if (nc.isDraining()) {
    await nc.closed();
    return;
  }
  try {
    await nc.drain();
  } catch (error) {
    // Draining needs a live server; when it is gone, closing is all that is left to do.
    if (!nc.isClosed()) await nc.close();
    if (!isClosedConnectionError(error)) throw error;
  }
}

async function logStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const status of nc.status()) {
    logStatusChange(logger, status);
  }
}

function logStatusChange(logger: Logger, status: Status): void {
  const details = { status: status.type, data: status.data };
  // Status.type is the client's open-ended enum; anything not listed is routine.
  switch (status.type) {
    case Events.Disconnect:
      logger.warn(details, 'nats disconnected, reconnecting');
      return;
    case Events.Reconnect:
      logger.info(details, 'nats reconnected');
      return;
    case Events.LDM:
      logger.warn(details, 'nats server entering lame duck mode');
      return;
    case Events.Error:
      logger.error(details, 'nats connection error');
      return;
    case DebugEvents.StaleConnection:
      logger.warn(details, 'nats connection stale');
      return;
    default:
      logger.debug(details, 'nats status');
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? `${error.code}: ` : '';
    return `${code}${error.message}`;
  }
  return String(error);
}
