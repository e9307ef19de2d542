import { isMessageEventType, MessageEvent, messageIdOfStream } from '@reach/contracts';
import type { Db } from '@reach/database';
import type { EventStore } from '@reach/event-store';
import { RelayedEvent, type ConsumedMessage, type HandlerOutcome } from '@reach/messaging';
import {
  insertPlannedDeliveries,
  planMessageDeliveries,
  reachCellEventOf,
  webhookSubscriptions,
  type StoredMessageEvent,
  type WebhookSubscription,
} from '@reach/webhooks';

/** Event types that can call for a delivery; every other relayed event is acked untouched. */
export const notifyingEventTypes = [
  'MessageQueued',
  'MessageSent',
  'MessageDelivered',
  'MessageUndelivered',
  'MessageFailed',
  'MessageExpired',
  'MessageCanceled',
  'MessageReceived',
] as const;
const notifyingTypes: ReadonlySet<string> = new Set(notifyingEventTypes);

export interface PlannerDeps {
  readonly db: Db;
  readonly store: EventStore;
  readonly clock: () => Date;
  /** Called after deliveries were recorded, so the worker looks at once. */
  readonly onPlanned: (count: number) => void;
}

/**
 * Turns each relayed message event into outbox rows. The message's stream is read up to the
 * event's revision and planned from its start, so the outbox holds every earlier notification
 * of the message before this one (lifecycle order even if events arrive out of order), and the
 * derived delivery ids make a redelivered event a no-op. Ack only after the insert committed:
 * a crash before it means JetStream delivers the event again.
 */
export function createMessageEventsPlanner(deps: PlannerDeps) {
  return async (msg: ConsumedMessage): Promise<HandlerOutcome> => {
    const relayed = RelayedEvent.safeParse(msg.json());
    if (!relayed.success) return { kind: 'reject', reason: `not a relayed event: ${relayed.error.message}` };
    const { type, streamId, revision, metadata } = relayed.data;
    if (!notifyingTypes.has(type) || messageIdOfStream(streamId) === null) return { kind: 'ack' };

    // Fast path: the append recorded that the message has no status callback, so only the
    // account's webhooks can want this event; most messages notify nobody and cost one query.
    let subscriptions: WebhookSubscription[] | null = null;
    if (metadata['statusCallback'] === false) {
      const event = MessageEvent.safeParse({ type, data: relayed.data.data });
      if (!event.success) return { kind: 'reject', reason: `event ${relayed.data.eventId} does not match its schema: ${event.error.message}` };
      const webhookEvent = reachCellEventOf(event.data);
      if (webhookEvent === null) return { kind: 'ack' };
      subscriptions = await webhookSubscriptions(deps.db, event.data.data.accountId);
      if (!subscriptions.some((s) => s.events.includes(webhookEvent))) return { kind: 'ack' };
    }

    const recorded = await deps.store.readStream(streamId, { maxCount: Number(revision) + 1 });
    const stream: StoredMessageEvent[] = [];
    for (const event of recorded) {
      if (!isMessageEventType(event.type)) continue;
      const parsed = MessageEvent.safeParse({ type: event.type, data: event.data });
      if (!parsed.success) return { kind: 'reject', reason: `event ${event.eventId} does not match its schema: ${parsed.error.message}` };
      stream.push({ eventId: event.eventId, revision: event.revision, recordedAt: event.createdAt, event: parsed.data });
    }
    const first = stream[0];
    if (first === undefined) return { kind: 'retry', reason: `stream ${streamId} is not readable yet` };
    subscriptions ??= await webhookSubscriptions(deps.db, first.event.data.accountId);
    const planned = planMessageDeliveries(stream, subscriptions);
    const inserted = await insertPlannedDeliveries(deps.db, planned, deps.clock());
    if (inserted > 0) deps.onPlanned(inserted);
    return { kind: 'ack' };
  };
}
