/**
 * How long the firing loop waits before its next round (0: run it now). Pure, so the schedule
 * is unit-tested.
 *
 * - A full batch means more may be due: go again at once.
 * - Otherwise sleep until the next timer falls due, but never longer than `maxSleepMs`, so
 *   timers recorded by another replica (whose wake-up calls we do not hear) are seen in time.
 * - A due timer: run a round. But if the last round, run since the loop last slept, took
 *   nothing, the due timers are held by another replica's round: retry after `busyRetryMs`
 *   rather than spinning on them.
 */
export interface WakeInputs {
  readonly now: Date;
  /** The earliest due time in the table after the round, null when it is empty. */
  readonly nextDueAt: Date | null;
  /** Timers the last round fired; null when no round ran since the loop last slept. */
  readonly fired: number | null;
  readonly batchSize: number;
  readonly maxSleepMs: number;
  readonly busyRetryMs: number;
}

export function nextWakeDelayMs(inputs: WakeInputs): number {
  const { now, nextDueAt, fired, batchSize, maxSleepMs, busyRetryMs } = inputs;
  if (fired !== null && fired >= batchSize) return 0;
  if (nextDueAt === null) return maxSleepMs;
  const untilDue = nextDueAt.getTime() - now.getTime();
  if (untilDue > 0) return Math.min(untilDue, maxSleepMs);
  return fired === 0 ? Math.min(busyRetryMs, maxSleepMs) : 0;
}
