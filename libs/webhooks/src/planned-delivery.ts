import type { DeliveryKind } from '@reach/database';

/** One notification to send, as planned from an event; the outbox stores it before any attempt. */
export interface PlannedDelivery {
  readonly id: string;
  readonly accountId: string;
  readonly kind: DeliveryKind;
  readonly webhookId: string | null;
  readonly messageId: string | null;
  /** The event it reports (the store's event id, or the account event's id). */
  readonly eventId: string;
  /** The dialect's word for it: a Reach status (`delivered`) or a ReachCell event type (`sms.delivered`). */
  readonly eventType: string;
  readonly url: string;
  /** Concurrency lane: one webhook, or one callback URL's origin. */
  readonly endpointKey: string;
  /** Deliveries sharing it go out one at a time, in `sequence` order. */
  readonly orderingKey: string;
  readonly sequence: bigint;
  readonly contentType: string;
  readonly payload: string;
}

/** An account's webhook as the planner needs it. */
export interface WebhookSubscription {
  readonly id: string;
  readonly accountId: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly createdAt: Date;
}

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
export const JSON_CONTENT_TYPE = 'application/json';
