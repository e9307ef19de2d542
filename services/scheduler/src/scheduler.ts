import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { NatsNames } from '@reach/contracts';
import type { Db } from '@reach/database';
import type { EventStore } from '@reach/event-store';
import { runDurableConsumer, type DurableConsumer } from '@reach/messaging';
import { TimerFiringLoop, type FiredTimer } from './fire-timers/timer-firing-loop';
import { createAcceptedMessageHandler } from './record-timers/accepted-messages.consumer';
import { obsoletedTimers, type ObsoletingEvent } from './record-timers/message-timers';
import { createObsoleteTimersHandler } from './record-timers/obsolete-timers.consumer';
import { GroupCommit } from './timers/group-commit';
import type { Timer, TimerKey } from './timers/timer';
import { countOverdueTimers, estimatePendingTimers, recordTimers, removeTimers } from './timers/timers.repository';

export interface SchedulerSettings {
  readonly batchSize: number;
  readonly firingLoops: number;
  readonly maxSleepMs: number;
  /** Pause of a loop that found every due timer taken by other rounds. Default 25 ms. */
  readonly busyRetryMs?: number;
  readonly consumerConcurrency: number;
  readonly pendingGaugeIntervalMs: number;
}

export interface SchedulerDependencies {
  readonly db: Db;
  readonly store: EventStore;
  readonly nc: NatsConnection;
  readonly names: NatsNames;
  readonly logger: Logger;
  readonly settings: SchedulerSettings;
  /** The time commands are stamped with and timers are compared against. Default: the system clock. */
  readonly clock?: () => Date;
  readonly onFired?: (fired: FiredTimer) => void;
  readonly onPendingCounted?: (counts: PendingTimers) => void;
}

export interface PendingTimers {
  /** Timers recorded and not fired yet, from the table statistics (approximate). */
  readonly pending: number;
  /** Timers already due and not fired yet (exact, up to a cap): a backlog the loops have not caught up with. */
  readonly overdue: number;
}

export interface RunningScheduler {
  /**
   * Stops the consumers (their in-flight timer writes commit and are acked), then the firing
   * loops (the round in flight commits), then the pending-timers count.
   */
  stop(): Promise<void>;
}

/**
 * The scheduler: consumers that record timers from relayed events, and firing loops. Holds no
 * timers in memory, so a restarted process (or a second replica) picks up where the table is.
 */
export async function startScheduler(deps: SchedulerDependencies): Promise<RunningScheduler> {
  const { db, store, nc, names, logger, settings } = deps;
  const clock = deps.clock ?? (() => new Date());
  const loops = Array.from(
    { length: settings.firingLoops },
    (_, index) =>
      new TimerFiringLoop({
        db,
        store,
        clock,
        logger: logger.child({ component: 'timer-firing', loop: index }),
        batchSize: settings.batchSize,
        maxSleepMs: settings.maxSleepMs,
        busyRetryMs: settings.busyRetryMs ?? 25,
        ...(deps.onFired ? { onFired: deps.onFired } : {}),
      }),
  );
  loops.forEach((loop) => loop.start());
  const wake = (dueAt: Date) => loops.forEach((loop) => loop.wake(dueAt));

  const recorder = new GroupCommit<Timer>((timers) => recordTimers(db, timers), 2, 4_000);
  const remover = new GroupCommit<TimerKey>((keys) => removeTimers(db, keys), 1, 4_000);
  const consumers: DurableConsumer[] = [];
  const gauge = new PendingTimersGauge(db, clock, settings.pendingGaugeIntervalMs, logger, deps.onPendingCounted);

  const stop = async () => {
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    await Promise.all(loops.map((loop) => loop.stop()));
    await gauge.stop();
  };

  try {
    const consumerSettings = {
      names,
      stream: names.eventsStream,
      concurrency: settings.consumerConcurrency,
      batchSize: settings.consumerConcurrency,
      maxAckPending: settings.consumerConcurrency * 4,
    };
    consumers.push(
      await runDurableConsumer(nc, {
        ...consumerSettings,
        durable: names.consumerName('scheduler', 'accepted'),
        filterSubjects: [names.eventSubject('MessageAccepted')],
        handler: createAcceptedMessageHandler({ record: (timers) => recorder.submit(timers), onRecorded: wake }),
        logger: logger.child({ component: 'accepted-consumer' }),
      }),
    );
    // One consumer per subject: nats-server before 2.10 takes one filter subject per consumer.
    for (const type of Object.keys(obsoletedTimers) as ObsoletingEvent[]) {
      const purpose = type.replace(/^Message/, '').toLowerCase();
      consumers.push(
        await runDurableConsumer(nc, {
          ...consumerSettings,
          durable: names.consumerName('scheduler', purpose),
          filterSubjects: [names.eventSubject(type)],
          handler: createObsoleteTimersHandler(type, { remove: (keys) => remover.submit(keys) }),
          logger: logger.child({ component: `${purpose}-consumer` }),
        }),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  gauge.start();
  return { stop };
}

/** Recounts pending and overdue timers now and then (not per scrape: a scrape must stay cheap). */
class PendingTimersGauge {
  private static readonly overdueCap = 100_000;
  private timer: NodeJS.Timeout | null = null;
  private counting: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly clock: () => Date,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly report: ((counts: PendingTimers) => void) | undefined,
  ) {}

  start(): void {
    if (!this.report) return;
    this.count();
    this.timer = setInterval(() => this.count(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.counting;
  }

  private count(): void {
    const report = this.report;
    if (this.counting || !report) return;
    this.counting = Promise.all([estimatePendingTimers(this.db), countOverdueTimers(this.db, this.clock(), PendingTimersGauge.overdueCap)])
      .then(
        ([pending, overdue]) => report({ pending, overdue }),
        (error: unknown) => this.logger.warn({ err: error }, 'could not count pending timers'),
      )
      .finally(() => (this.counting = null));
  }
}
