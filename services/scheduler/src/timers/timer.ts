/**
 * A durable timer: at `dueAt` the scheduler runs the command of its kind on the message's stream
 * (`release` → ReleaseMessage, `expire` → ExpireMessage). One timer per (message, kind).
 */
export const timerKinds = ['release', 'expire'] as const;
export type TimerKind = (typeof timerKinds)[number];

export interface TimerKey {
  readonly messageId: string;
  readonly kind: TimerKind;
}

export interface Timer extends TimerKey {
  readonly accountId: string;
  readonly dueAt: Date;
  /**
   * The trace the firing continues: the `traceparent` of the span the timer was recorded in (the
   * consumer span of the message's MessageAccepted). Null or absent: the firing starts a new trace.
   */
  readonly traceParent?: string | null;
  /** The correlation id of the request the message came from; absent: the firing falls back to the message id. */
  readonly correlationId?: string | null;
}

/** A timer taken from the table to be fired, with the number of earlier failed firings. */
export interface DueTimer extends Timer {
  readonly attempts: number;
}

export function timerKeyText(key: TimerKey): string {
  return `${key.messageId}/${key.kind}`;
}

/** The earliest due time among `timers`, or null for none. */
export function earliestDue(timers: readonly Timer[]): Date | null {
  let earliest: Date | null = null;
  for (const timer of timers) if (earliest === null || timer.dueAt < earliest) earliest = timer.dueAt;
  return earliest;
}
