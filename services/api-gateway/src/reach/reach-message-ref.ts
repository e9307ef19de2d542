import { MessageRuleViolation, reachError, validateMessageId, type ReachMessageRef } from '@reach/message-domain';
import { ApiError } from '../http/api-error';
import { reachApiError } from './reach-error.filter';

/** `REST /rest/messaging/v1` calls, shared by the Reach controllers. */
export const REACH_MESSAGING_ROUTE = 'rest/messaging/v1';

export function reachNotFound(messageId: string): ApiError {
  return reachApiError(reachError('notFound', `Message ${messageId} not found`, { messageId }));
}

/** `messageId` of fetch/update/unschedule/delete: 10002 when missing, a 404 when it cannot be ours. */
export function requireMessageRef(params: Readonly<Record<string, unknown>>): ReachMessageRef {
  const ref = validateMessageId(params);
  if (!ref.ok) throw reachApiError(ref.error);
  if (!ref.value.wellFormed) throw reachNotFound(ref.value.messageId);
  return ref.value;
}

/** The decider's rule violations as Reach errors; anything else propagates (a 500). */
export function reachErrorOfViolation(error: unknown, messageId: string): unknown {
  if (!(error instanceof MessageRuleViolation)) return error;
  switch (error.code) {
    case 'MESSAGE_NOT_FOUND':
      return reachNotFound(messageId);
    case 'TOO_LATE_TO_CANCEL':
      return reachApiError(reachError('tooLateToUnschedule', undefined, { messageId }));
    case 'INVALID_TRANSITION':
    case 'MESSAGE_EXISTS':
    case 'NOT_EXPIRED_YET':
      return reachApiError(reachError('missingRequestData', error.message, { messageId }));
    default: {
      const unreachable: never = error.code;
      return unreachable;
    }
  }
}
