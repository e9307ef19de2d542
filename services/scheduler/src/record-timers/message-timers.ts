import type { MessageEventOf } from '@reach/contracts';
import type { Timer, TimerKey, TimerKind } from '../timers/timer';

/**
 * Which timers a message's events call for. MessageAccepted carries both deadlines: `expiresAt`
 * (every outbound message) and `scheduledFor` (only scheduled ones, which the decider also marks
 * with MessageScheduled in the same append). Reading both from MessageAccepted records the pair
 * in one write and needs one consumer instead of two.
 */
export function timersOfAcceptedMessage(accepted: MessageEventOf<'MessageAccepted'>['data']): Timer[] {
  const ref = { messageId: accepted.messageId, accountId: accepted.accountId };
  const timers: Timer[] = [{ ...ref, kind: 'expire', dueAt: new Date(accepted.expiresAt) }];
  if (accepted.scheduledFor !== null) timers.push({ ...ref, kind: 'release', dueAt: new Date(accepted.scheduledFor) });
  return timers;
}

/**
 * Events after which a timer's command can only be a no-op, and which timers they make
 * pointless. Removing them is an optimisation (the decider already ignores them): it keeps the
 * table to timers that can still matter, instead of one expiry per message sent in the last
 * validity period (4 h by default).
 */
export const obsoletedTimers = {
  /** A channel took the message: it can no longer expire. */
  MessageDispatched: ['expire'],
  /** Terminal: nothing is released or expires any more. */
  MessageCanceled: ['release', 'expire'],
} as const satisfies Record<string, readonly TimerKind[]>;

export type ObsoletingEvent = keyof typeof obsoletedTimers;

export function timersObsoletedBy(type: ObsoletingEvent, messageId: string): TimerKey[] {
  return obsoletedTimers[type].map((kind) => ({ messageId, kind }));
}
