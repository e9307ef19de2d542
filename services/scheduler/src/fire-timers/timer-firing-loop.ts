import type { Logger } from 'pino';
import type { Db } from '@reach/database';
import type { EventStore } from '@reach/event-store';
import { executeMessageCommand } from '@reach/infrastructure';
import { restartDelayMs } from '@reach/messaging';
import { SpanKind, contextFromTraceparent, inSpan, runWithLogFields, type LogFields } from '@reach/telemetry';
import type { DueTimer } from '../timers/timer';
import { claimDueTimers, nextDueAt, rescheduleTimers } from '../timers/timers.repository';
import { nextWakeDelayMs } from './next-wake';
import { commandForTimer, isPermanentFailure, retryAt, type FiringOutcome } from './timer-command';

export interface FiredTimer {
  readonly timer: DueTimer;
  readonly outcome: FiringOutcome;
  /** The instant the command was stamped with (its `now`). */
  readonly firedAt: Date;
}

export interface FiringLoopOptions {
  readonly db: Db;
  readonly store: EventStore;
  readonly logger: Logger;
  readonly clock: () => Date;
  /** Timers taken per round (one transaction). */
  readonly batchSize: number;
  /** Longest sleep between rounds: bounds how late a timer recorded by another replica is seen. */
  readonly maxSleepMs: number;
  /** Pause when every due timer is being fired by another replica. */
  readonly busyRetryMs: number;
  readonly onFired?: (fired: FiredTimer) => void;
}

/**
 * Runs a timer's command in the context the timer was recorded in: a span (`scheduler fire
 * release`, `scheduler fire expire`) whose parent is the stored `traceparent` (a new trace when
 * there is none), with the message's ids and the stored correlation id as the log context. So the
 * events the command appends (MessageQueued, MessageExpired) carry the message's trace and
 * request in their metadata.
 */
function inTimerContext<T>(timer: DueTimer, work: () => Promise<T>): Promise<T> {
  const fields: LogFields = { messageId: timer.messageId, accountId: timer.accountId };
  if (timer.correlationId) fields.correlationId = timer.correlationId;
  const attributes = { 'reach.timer.kind': timer.kind, 'reach.timer.attempt': timer.attempts + 1 };
  return runWithLogFields(fields, () =>
    inSpan(`scheduler fire ${timer.kind}`, { kind: SpanKind.INTERNAL, parent: contextFromTraceparent(timer.traceParent), attributes }, () => work()),
  );
}

/**
 * Fires due timers, round after round. A round is one transaction: take (and delete) up to
 * `batchSize` due timers with `for update skip locked`, run their commands concurrently against
 * the event store, put back the ones worth retrying, commit.
 *
 * Guarantees:
 * - At-least-once firing: a timer is deleted only when the round commits, after its command
 *   returned; a crash or a lost connection mid-round leaves it in place to fire again.
 * - Exactly-once effect: the command runs through the decider with the stream's expected
 *   revision, so a repeated release or expiry appends nothing, and of a dispatch and an expiry
 *   racing each other exactly one is recorded.
 * - Replicas (and several loops in one process) split the due timers: a timer locked by one
 *   round is skipped by the others, and gone once that round commits.
 */
export class TimerFiringLoop {
  private stopping = false;
  private running: Promise<void> | null = null;
  private sleeper: { wakeAt: number; timer: NodeJS.Timeout; resolve: () => void } | null = null;
  /** A wake-up asked for while a round was running, honoured when the loop next goes to sleep. */
  private requestedWakeAt: number | null = null;

  constructor(private readonly options: FiringLoopOptions) {}

  start(): void {
    if (this.running) return;
    this.running = this.run();
  }

  /** A timer due at `dueAt` was just recorded: make sure the loop is awake by then. */
  wake(dueAt: Date): void {
    const at = dueAt.getTime();
    if (this.sleeper) {
      if (at < this.sleeper.wakeAt) this.setAlarm(at);
      return;
    }
    if (this.requestedWakeAt === null || at < this.requestedWakeAt) this.requestedWakeAt = at;
  }

  /** Stops taking rounds; resolves once the round in flight (if any) has committed or rolled back. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.ring();
    await this.running;
  }

  /**
   * Asks the table when the next timer is due (one cheap index read) and sleeps until then;
   * opens a round's transaction only when something is due, so an idle loop costs one query
   * per `maxSleepMs`.
   */
  private async run(): Promise<void> {
    const { db, logger, batchSize, maxSleepMs, busyRetryMs, clock } = this.options;
    let fired: number | null = null;
    let failures = 0;
    while (!this.stopping) {
      try {
        if (fired === null || fired < batchSize) {
          const next = await nextDueAt(db);
          const delayMs = nextWakeDelayMs({ now: clock(), nextDueAt: next, fired, batchSize, maxSleepMs, busyRetryMs });
          if (delayMs > 0) {
            await this.sleep(delayMs, true);
            fired = null;
            continue;
          }
        }
        fired = await this.round();
        failures = 0;
      } catch (error) {
        failures += 1;
        fired = null;
        const delayMs = restartDelayMs(failures, 100, 5_000);
        logger.error({ err: error, failures, delayMs }, 'firing round failed; its timers stay due');
        await this.sleep(delayMs, false);
      }
    }
  }

  private async round(): Promise<number> {
    const { db, batchSize, clock } = this.options;
    return db.transaction().execute(async (trx) => {
      const due = await claimDueTimers(trx, clock(), batchSize);
      if (due.length === 0) return 0;
      const retries = (await Promise.all(due.map((timer) => this.fire(timer)))).filter((t): t is DueTimer => t !== null);
      await rescheduleTimers(trx, retries);
      return due.length;
    });
  }

  /** Runs one timer's command; never throws. Returns the timer to put back when it should be retried. */
  private async fire(timer: DueTimer): Promise<DueTimer | null> {
    const { store, clock, logger, onFired } = this.options;
    const firedAt = clock();
    let outcome: FiringOutcome;
    let retry: DueTimer | null = null;
    try {
      const result = await inTimerContext(timer, () => executeMessageCommand(store, commandForTimer(timer, firedAt)));
      outcome = result.events.length > 0 ? 'applied' : 'noop';
    } catch (error) {
      const where = { messageId: timer.messageId, kind: timer.kind, attempts: timer.attempts + 1, err: error };
      if (isPermanentFailure(error)) {
        // Not necessarily a fault: a deleted message answers MESSAGE_NOT_FOUND to every command.
        outcome = 'dropped';
        logger.warn(where, 'timer can never fire; dropped');
      } else {
        outcome = 'retry';
        retry = retryAt(timer, clock());
        logger.warn({ ...where, retryAt: retry.dueAt.toISOString() }, 'timer firing failed; will retry');
      }
    }
    onFired?.({ timer, outcome, firedAt });
    return retry;
  }

  /** Sleeps `delayMs`; a `wakeable` sleep ends early for `wake()`. Every sleep ends at `stop()`. */
  private sleep(delayMs: number, wakeable: boolean): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const now = this.options.clock().getTime();
    let wakeAt = now + delayMs;
    if (wakeable && this.requestedWakeAt !== null) {
      wakeAt = Math.min(wakeAt, this.requestedWakeAt);
      this.requestedWakeAt = null;
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.ring(), Math.max(0, wakeAt - now));
      // An unwakeable sleep (backing off after a failure) reports -Infinity: no wake-up is earlier.
      this.sleeper = { wakeAt: wakeable ? wakeAt : -Infinity, timer, resolve };
    });
  }

  private setAlarm(wakeAt: number): void {
    const sleeper = this.sleeper;
    if (!sleeper) return;
    clearTimeout(sleeper.timer);
    const delayMs = Math.max(0, wakeAt - this.options.clock().getTime());
    this.sleeper = { wakeAt, timer: setTimeout(() => this.ring(), delayMs), resolve: sleeper.resolve };
  }

  private ring(): void {
    const sleeper = this.sleeper;
    if (!sleeper) return;
    clearTimeout(sleeper.timer);
    this.sleeper = null;
    sleeper.resolve();
  }
}
