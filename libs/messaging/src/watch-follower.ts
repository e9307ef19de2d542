import type { Logger } from 'pino';
import { isClosedConnectionError } from './nats-errors';
import { restartDelayMs } from './retry-backoff';

/** How a cache follows a key-value watch (the presence bucket, the channel owner). */
export interface WatchFollowing<T> {
  /** What is followed, for the log lines ("presence watch"). */
  readonly what: string;
  readonly first: AsyncIterable<T>;
  readonly apply: (change: T) => void;
  /** Opens the watch again after it ended or failed (the caller keeps the new one to stop it). */
  readonly reopen: () => Promise<AsyncIterable<T>>;
  readonly isStopped: () => boolean;
  /** Resolves when a stop is requested: a pause between attempts ends at once. */
  readonly stopRequested: Promise<void>;
  readonly logger: Logger;
}

/**
 * Applies the watch's changes until stopped. A watch that ends or fails is reopened after a
 * growing pause; a closed NATS connection ends the following (nothing could reopen it).
 */
export async function followWatch<T>(following: WatchFollowing<T>): Promise<void> {
  const { what, apply, reopen, isStopped, stopRequested, logger } = following;
  let watch = following.first;
  let failures = 0;
  for (;;) {
    try {
      for await (const change of watch) {
        failures = 0;
        apply(change);
      }
    } catch (error) {
      if (!isStopped()) logger.warn({ err: error }, `${what} failed`);
    }
    if (isStopped()) return;
    failures += 1;
    await pauseUnlessStopped(restartDelayMs(failures), stopRequested);
    if (isStopped()) return;
    try {
      watch = await reopen();
      logger.info(`${what} resumed`);
    } catch (error) {
      if (isClosedConnectionError(error)) {
        logger.error(`nats connection closed; the ${what} is no longer followed`);
        return;
      }
      logger.warn({ err: error }, `${what} could not be resumed`);
    }
  }
}

function pauseUnlessStopped(ms: number, stopRequested: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void stopRequested.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
