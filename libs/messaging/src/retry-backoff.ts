/**
 * Delays for the consumer's two kinds of retry: redelivering one message (nak with delay) and
 * restarting the whole consume loop after it failed. Pure, so the schedules are unit-tested.
 */

/** The default redelivery schedule: delay before delivery 2, 3, 4, 5 and every later one. */
export const defaultRedeliveryBackoffMs: readonly number[] = [1_000, 5_000, 30_000, 120_000];

/**
 * Delay before the next delivery after delivery number `deliveryCount` (1-based) failed: the
 * `deliveryCount`-th entry of `backoffMs`, the last entry once the schedule runs out.
 */
export function redeliveryDelayMs(deliveryCount: number, backoffMs: readonly number[]): number {
  if (backoffMs.length === 0) return 0;
  const index = Math.min(Math.max(Math.floor(deliveryCount), 1), backoffMs.length) - 1;
  return backoffMs[index] ?? 0;
}

/**
 * Delay before restart number `failures` (1-based) of a consume loop: doubling from `baseMs`,
 * capped at `maxMs`, so a deleted consumer or a lost server is retried quickly at first and
 * then without hammering the server.
 */
export function restartDelayMs(failures: number, baseMs = 250, maxMs = 30_000): number {
  const exponent = Math.min(Math.max(Math.floor(failures), 1) - 1, 30);
  return Math.min(baseMs * 2 ** exponent, maxMs);
}
