import { MessageCanceled, MessageDispatched } from '@reach/contracts';
import { RelayedEvent, type ConsumedMessage, type HandlerOutcome } from '@reach/messaging';
import type { TimerKey } from '../timers/timer';
import { timersObsoletedBy, type ObsoletingEvent } from './message-timers';

const schemas = { MessageDispatched, MessageCanceled } as const satisfies Record<ObsoletingEvent, unknown>;

/**
 * Removes the timers an event made pointless (see `obsoletedTimers`). Order against the
 * recording consumer does not matter: a timer recorded after its removal fires later as a no-op.
 */
export function createObsoleteTimersHandler(type: ObsoletingEvent, deps: { remove: (keys: readonly TimerKey[]) => Promise<void> }) {
  const schema = schemas[type];
  return async (msg: ConsumedMessage): Promise<HandlerOutcome> => {
    const relayed = RelayedEvent.safeParse(msg.json());
    if (!relayed.success) return { kind: 'reject', reason: `not a relayed event: ${relayed.error.message}` };
    const event = schema.safeParse({ type: relayed.data.type, data: relayed.data.data });
    if (!event.success) return { kind: 'reject', reason: `not a ${type} event: ${event.error.message}` };
    await deps.remove(timersObsoletedBy(type, event.data.data.messageId));
    return { kind: 'ack' };
  };
}
