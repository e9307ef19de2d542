import { MessageQueued, messageStreamId } from '@reach/contracts';
import type { EventStore } from '@reach/event-store';
import { readMessageState } from '@reach/infrastructure';
import { RelayedEvent, type ConsumedMessage, type HandlerOutcome } from '@reach/messaging';
import { toQueuedMessage, type DispatchPump } from './dispatch-pump';

/**
 * Admits each relayed MessageQueued to the pump (sent at once, or kept in the sender's backlog).
 * Idempotent: the stream's current state decides, so a redelivery of a message that moved on
 * (dispatched, expired, canceled) changes nothing. The pump keeps one lane per sender, so the
 * messages of one sender are admitted in stream order.
 */
export function createQueuedMessageHandler(deps: { store: EventStore; pump: DispatchPump }) {
  return async (msg: ConsumedMessage): Promise<HandlerOutcome> => {
    const relayed = RelayedEvent.safeParse(msg.json());
    if (!relayed.success) return { kind: 'reject', reason: `not a relayed event: ${relayed.error.message}` };
    const event = MessageQueued.safeParse({ type: relayed.data.type, data: relayed.data.data });
    if (!event.success) return { kind: 'reject', reason: `not a MessageQueued event: ${event.error.message}` };
    const { messageId, from } = event.data.data;
    await deps.pump.admit(from, async () => {
      const known = await readMessageState(deps.store, messageStreamId(messageId));
      const { state } = known;
      if (state.status === 'initial' || state.direction !== 'outbound') return null;
      if (state.status !== 'queued' && state.status !== 'dispatched' && state.status !== 'sent') return null;
      return { message: toQueuedMessage(state), known };
    });
    return { kind: 'ack' };
  };
}
