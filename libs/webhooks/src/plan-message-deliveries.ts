import { reachStatusOf, type MessageEvent } from '@reach/contracts';
import { evolveMessageView, presentReachCellMessage, reachCellTime, type MessageView } from '@reach/read-models';
import { deliveryIdFor, STATUS_CALLBACK_TARGET, webhookTarget } from './delivery-id';
import { FORM_CONTENT_TYPE, JSON_CONTENT_TYPE, type PlannedDelivery, type WebhookSubscription } from './planned-delivery';
import type { ReachCellEnvelope, ReachCellWebhookEvent } from './reachcell-events';

/** A message event as read back from the store, with what the outbox needs to name it. */
export interface StoredMessageEvent {
  readonly eventId: string;
  readonly revision: bigint;
  readonly recordedAt: Date;
  readonly event: MessageEvent;
}

/** The Reach statuses a status callback reports (PRODUCT.md §2). */
const callbackStatuses: ReadonlySet<string> = new Set(['queued', 'failed', 'sent', 'canceled', 'delivered', 'undelivered']);

/**
 * Every delivery a message's events call for, from the start of its stream up to the last
 * event given. Pure and deterministic: planning the same events again yields the same
 * deliveries with the same ids, so the caller inserts them idempotently, and planning up to
 * revision r always includes the deliveries of every earlier revision, so an earlier status can
 * never be missing from the outbox while a later one is already there.
 *
 * A webhook receives the events recorded after it was created, and only those it subscribes to.
 */
export function planMessageDeliveries(stream: readonly StoredMessageEvent[], webhooks: readonly WebhookSubscription[]): PlannedDelivery[] {
  const planned: PlannedDelivery[] = [];
  let view: MessageView | null = null;
  for (const stored of stream) {
    view = evolveMessageView(view, stored.event, stored.revision);
    if (view === null) break; // deleted: nothing after it is reported
    const callback = statusCallbackFor(view, stored);
    if (callback !== null) planned.push(callback);
    const eventType = reachCellEventOf(stored.event);
    if (eventType === null) continue;
    for (const webhook of webhooks) {
      if (webhook.accountId !== view.accountId || !webhook.events.includes(eventType)) continue;
      if (webhook.createdAt.getTime() > stored.recordedAt.getTime()) continue;
      planned.push(webhookDelivery(webhook, view, stored, eventType));
    }
  }
  return planned;
}

function statusCallbackFor(view: MessageView, stored: StoredMessageEvent): PlannedDelivery | null {
  if (view.statusCallback === null || !changesStatus(stored.event)) return null;
  const status = reachStatusOf(view.status);
  if (!callbackStatuses.has(status)) return null;
  return {
    id: deliveryIdFor(stored.eventId, STATUS_CALLBACK_TARGET),
    accountId: view.accountId,
    kind: 'status_callback',
    webhookId: null,
    messageId: view.messageId,
    eventId: stored.eventId,
    eventType: status,
    url: view.statusCallback,
    endpointKey: callbackEndpointKey(view.statusCallback),
    orderingKey: `callback:${view.messageId}`,
    sequence: stored.revision,
    contentType: FORM_CONTENT_TYPE,
    payload: new URLSearchParams(statusCallbackParams(view, status, stored.event)).toString(),
  };
}

/**
 * The form parameters of a Reach status callback, all as strings; absent values are empty
 * strings, except `dlrDate`, which is present only when the carrier's receipt had a done date.
 */
export function statusCallbackParams(view: MessageView, status: string, event: MessageEvent): Record<string, string> {
  const params: Record<string, string> = {
    messageId: view.messageId,
    status,
    src: view.from,
    dest: view.to,
    body: view.body ?? '',
    bulkId: view.bulkId ?? '',
    numSegments: String(view.segmentCount),
    numMedia: '0',
    errorCode: view.errorCode === null ? '' : String(view.errorCode),
    errorMessage: view.failureReason ?? '',
  };
  const dlrDate = event.type === 'MessageDelivered' || event.type === 'MessageUndelivered' ? event.data.dlrDate : null;
  if (dlrDate !== null) params['dlrDate'] = dlrDate;
  return params;
}

function webhookDelivery(webhook: WebhookSubscription, view: MessageView, stored: StoredMessageEvent, eventType: ReachCellWebhookEvent): PlannedDelivery {
  const envelope: ReachCellEnvelope = {
    event_id: stored.eventId,
    event_type: eventType,
    api_version: 'v1',
    timestamp: reachCellTime(stored.recordedAt),
    data: presentReachCellMessage(view),
  };
  return {
    id: deliveryIdFor(stored.eventId, webhookTarget(webhook.id)),
    accountId: view.accountId,
    kind: 'webhook',
    webhookId: webhook.id,
    messageId: view.messageId,
    eventId: stored.eventId,
    eventType,
    url: webhook.url,
    endpointKey: webhookTarget(webhook.id),
    orderingKey: `webhook:${webhook.id}:${view.messageId}`,
    sequence: stored.revision,
    contentType: JSON_CONTENT_TYPE,
    payload: JSON.stringify(envelope),
  };
}

/** The ReachCell event an internal event is reported as, if any (ReachCell folds every unhappy end into `failed`). */
export function reachCellEventOf(event: MessageEvent): ReachCellWebhookEvent | null {
  switch (event.type) {
    case 'MessageReceived':
      return 'sms.received';
    case 'MessageSent':
      return 'sms.sent';
    case 'MessageDelivered':
      return 'sms.delivered';
    case 'MessageFailed':
    case 'MessageExpired':
    case 'MessageUndelivered':
    case 'MessageCanceled':
      return 'sms.failed';
    case 'MessageAccepted':
    case 'MessageScheduled':
    case 'MessageQueued':
    case 'MessageDispatched':
    case 'MessageBodyRedacted':
    case 'MessageDeleted':
      return null;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/** Events that move a message to a new status (a redaction or the acceptance itself does not call back). */
function changesStatus(event: MessageEvent): boolean {
  switch (event.type) {
    case 'MessageQueued':
    case 'MessageSent':
    case 'MessageDelivered':
    case 'MessageUndelivered':
    case 'MessageFailed':
    case 'MessageExpired':
    case 'MessageCanceled':
      return true;
    case 'MessageAccepted':
    case 'MessageScheduled':
    case 'MessageDispatched':
    case 'MessageReceived':
    case 'MessageBodyRedacted':
    case 'MessageDeleted':
      return false;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/** Status callbacks share a concurrency lane per receiving origin (scheme, host and port). */
export function callbackEndpointKey(url: string): string {
  try {
    return `origin:${new URL(url).origin}`;
  } catch {
    return `origin:${url}`;
  }
}
