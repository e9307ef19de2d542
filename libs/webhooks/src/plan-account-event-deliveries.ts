import { reachCellTime } from '@reach/read-models';
import { deliveryIdFor, webhookTarget } from './delivery-id';
import { JSON_CONTENT_TYPE, type PlannedDelivery, type WebhookSubscription } from './planned-delivery';
import type { ReachCellEnvelope } from './reachcell-events';

/** A change to an account itself (not to a message) that its webhooks are told about. */
export interface AccountEvent {
  readonly eventId: string;
  readonly eventType: 'number.assigned' | 'number.released';
  readonly accountId: string;
  readonly occurredAt: Date;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * The deliveries of one account event to the account's subscribed webhooks. The caller inserts
 * them in the same transaction as the change itself (transactional outbox): the change and
 * its notification commit together or not at all.
 */
export function planAccountEventDeliveries(event: AccountEvent, webhooks: readonly WebhookSubscription[]): PlannedDelivery[] {
  const envelope: ReachCellEnvelope = {
    event_id: event.eventId,
    event_type: event.eventType,
    api_version: 'v1',
    timestamp: reachCellTime(event.occurredAt),
    data: event.data,
  };
  const payload = JSON.stringify(envelope);
  return webhooks
    .filter((webhook) => webhook.accountId === event.accountId && webhook.events.includes(event.eventType))
    .map((webhook) => ({
      id: deliveryIdFor(event.eventId, webhookTarget(webhook.id)),
      accountId: event.accountId,
      kind: 'webhook' as const,
      webhookId: webhook.id,
      messageId: null,
      eventId: event.eventId,
      eventType: event.eventType,
      url: webhook.url,
      endpointKey: webhookTarget(webhook.id),
      orderingKey: `webhook:${webhook.id}:account`,
      sequence: BigInt(event.occurredAt.getTime()),
      contentType: JSON_CONTENT_TYPE,
      payload,
    }));
}
