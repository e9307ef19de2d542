import { MessageAccepted } from '@reach/contracts';
import { RelayedEvent, type ConsumedMessage, type HandlerOutcome } from '@reach/messaging';
import { activeTraceparent, currentLogFields, isValidCorrelationId } from '@reach/telemetry';
import { earliestDue, type Timer } from '../timers/timer';
import { timersOfAcceptedMessage } from './message-timers';

/**
 * Records the timers of each relayed MessageAccepted. Idempotent (a recorded timer is left as
 * it is), so redeliveries are harmless. Acked only after the timers committed: a crash before
 * that redelivers the event and the timers are recorded then.
 *
 * Each timer keeps the trace context it was recorded in (this delivery's consumer span and the
 * request's correlation id; the event's metadata when no span is active), so its firing, and the
 * events it appends, continue the message's trace.
 */
export function createAcceptedMessageHandler(deps: {
  record: (timers: readonly Timer[]) => Promise<void>;
  /** Told the earliest due time of what was just recorded, so a sleeping firing loop can wake for it. */
  onRecorded: (earliest: Date) => void;
}) {
  return async (msg: ConsumedMessage): Promise<HandlerOutcome> => {
    const relayed = RelayedEvent.safeParse(msg.json());
    if (!relayed.success) return { kind: 'reject', reason: `not a relayed event: ${relayed.error.message}` };
    const event = MessageAccepted.safeParse({ type: relayed.data.type, data: relayed.data.data });
    if (!event.success) return { kind: 'reject', reason: `not a MessageAccepted event: ${event.error.message}` };
    const context = traceContextOf(relayed.data.metadata);
    const timers = timersOfAcceptedMessage(event.data.data).map((timer) => ({ ...timer, ...context }));
    await deps.record(timers);
    const earliest = earliestDue(timers);
    if (earliest !== null) deps.onRecorded(earliest);
    return { kind: 'ack' };
  };
}

/** Captured here, in the delivery's context: the group commit may write the timers from another delivery's. */
function traceContextOf(metadata: Readonly<Record<string, unknown>>): { traceParent: string | null; correlationId: string | null } {
  const stored = metadata['traceparent'];
  const correlationId = currentLogFields()?.correlationId ?? metadata['correlationId'];
  return {
    traceParent: activeTraceparent() ?? (typeof stored === 'string' && stored !== '' ? stored : null),
    correlationId: isValidCorrelationId(correlationId) ? correlationId : null,
  };
}
