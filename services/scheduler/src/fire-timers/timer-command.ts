import type { MessageCommand } from '@reach/contracts';
import { MessageRuleViolation } from '@reach/message-domain';
import { restartDelayMs } from '@reach/messaging';
import type { DueTimer } from '../timers/timer';

/** The command a due timer runs, stamped with the instant it fires. */
export function commandForTimer(timer: DueTimer, now: Date): MessageCommand {
  const data = { messageId: timer.messageId, accountId: timer.accountId, now: now.toISOString() };
  switch (timer.kind) {
    case 'release':
      return { type: 'ReleaseMessage', data };
    case 'expire':
      return { type: 'ExpireMessage', data };
    default:
      return assertNever(timer.kind);
  }
}

/**
 * What became of one firing:
 * - `applied`: the command appended its events (MessageQueued, MessageExpired);
 * - `noop`: the message had moved on (canceled, dispatched, already released or expired);
 * - `retry`: it failed for a reason that may pass (store unreachable, a conflict storm, a deadline
 *   not reached by the message's own clock): the timer is put back for later;
 * - `dropped`: it can never succeed (no such message, an inbound message): the timer is deleted.
 */
export type FiringOutcome = 'applied' | 'noop' | 'retry' | 'dropped';

/** Rule violations that no later attempt can change; anything else is worth retrying. */
export function isPermanentFailure(error: unknown): boolean {
  if (!(error instanceof MessageRuleViolation)) return false;
  switch (error.code) {
    case 'MESSAGE_NOT_FOUND':
    case 'INVALID_TRANSITION':
    case 'MESSAGE_EXISTS':
    case 'TOO_LATE_TO_CANCEL':
      return true;
    case 'NOT_EXPIRED_YET':
      return false;
    default:
      return assertNever(error.code);
  }
}

/** When a timer whose firing failed is tried again: 250 ms after the first failure, doubling up to 30 s. */
export function retryAt(timer: DueTimer, now: Date): DueTimer {
  const attempts = timer.attempts + 1;
  return { ...timer, attempts, dueAt: new Date(now.getTime() + restartDelayMs(attempts, 250, 30_000)) };
}

function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
