import type { BillingTerms, ChannelKind, MessageEvent, MessageStatus, TextEncoding } from '@reach/contracts';
import type { MessageRow, NewMessageRow } from '@reach/database';

/**
 * What both dialects show of one message. Folded from its events by `evolveMessageView`, the same
 * pure function the projection uses and the gateway uses to read its own writes from the stream.
 */
export interface MessageView {
  readonly messageId: string;
  readonly accountId: string;
  readonly direction: 'outbound' | 'inbound';
  readonly from: string;
  readonly to: string;
  readonly body: string | null;
  readonly bodyRedacted: boolean;
  readonly segmentCount: number;
  readonly encoding: TextEncoding;
  readonly status: MessageStatus;
  readonly channel: ChannelKind;
  readonly dialect: string | null;
  readonly bulkId: string | null;
  readonly statusCallback: string | null;
  readonly maxPrice: number | null;
  readonly validityPeriodSeconds: number | null;
  readonly expiresAt: Date | null;
  readonly scheduledFor: Date | null;
  readonly errorCode: number | null;
  readonly failureReason: string | null;
  readonly providerMessageId: string | null;
  readonly costUsd: number | null;
  /** Price by the destination's price table (Reach `price` / `priceUnit`). */
  readonly price: { readonly amount: number; readonly unit: string } | null;
  readonly billing: BillingTerms | null;
  readonly createdAt: Date;
  readonly queuedAt: Date | null;
  readonly dispatchedAt: Date | null;
  readonly sentAt: Date | null;
  readonly deliveredAt: Date | null;
  readonly updatedAt: Date;
  /** Revision of the last event folded in: the projection skips anything at or below it. */
  readonly streamRevision: bigint;
}

/**
 * Folds one event into the view. Returns null for a stream that does not start a message, and
 * for a message that was deleted (MessageDeleted).
 */
export function evolveMessageView(view: MessageView | null, event: MessageEvent, revision: bigint): MessageView | null {
  if (view === null) {
    switch (event.type) {
      case 'MessageAccepted': {
        const d = event.data;
        const at = new Date(d.acceptedAt);
        return {
          messageId: d.messageId,
          accountId: d.accountId,
          direction: 'outbound',
          from: d.from,
          to: d.to,
          body: d.body,
          bodyRedacted: false,
          segmentCount: d.segments.count,
          encoding: d.segments.encoding,
          status: 'accepted',
          channel: d.channel,
          dialect: d.dialect,
          bulkId: d.bulkId,
          statusCallback: d.statusCallback,
          maxPrice: d.maxPrice,
          validityPeriodSeconds: d.validityPeriodSeconds,
          expiresAt: new Date(d.expiresAt),
          scheduledFor: d.scheduledFor ? new Date(d.scheduledFor) : null,
          errorCode: null,
          failureReason: null,
          providerMessageId: null,
          costUsd: null,
          price: d.price ?? null,
          billing: d.billing,
          createdAt: at,
          queuedAt: null,
          dispatchedAt: null,
          sentAt: null,
          deliveredAt: null,
          updatedAt: at,
          streamRevision: revision,
        };
      }
      case 'MessageReceived': {
        const d = event.data;
        const at = new Date(d.receivedAt);
        return {
          messageId: d.messageId,
          accountId: d.accountId,
          direction: 'inbound',
          from: d.from,
          to: d.to,
          body: d.body,
          bodyRedacted: false,
          segmentCount: d.segments.count,
          encoding: d.segments.encoding,
          status: 'received',
          channel: d.channel,
          dialect: null,
          bulkId: null,
          statusCallback: null,
          maxPrice: null,
          validityPeriodSeconds: null,
          expiresAt: null,
          scheduledFor: null,
          errorCode: null,
          failureReason: null,
          providerMessageId: null,
          costUsd: null,
          price: null,
          billing: null,
          createdAt: at,
          queuedAt: null,
          dispatchedAt: null,
          sentAt: null,
          deliveredAt: null,
          updatedAt: at,
          streamRevision: revision,
        };
      }
      default:
        return null;
    }
  }

  const next = { streamRevision: revision };
  switch (event.type) {
    case 'MessageAccepted':
    case 'MessageReceived':
      return view;
    case 'MessageScheduled':
      return { ...view, ...next, status: 'scheduled', scheduledFor: new Date(event.data.scheduledFor) };
    case 'MessageQueued': {
      const at = new Date(event.data.queuedAt);
      return { ...view, ...next, status: 'queued', queuedAt: at, updatedAt: at };
    }
    case 'MessageDispatched': {
      const at = new Date(event.data.dispatchedAt);
      return { ...view, ...next, status: 'dispatched', channel: event.data.channel, dispatchedAt: at, updatedAt: at };
    }
    case 'MessageSent': {
      const at = new Date(event.data.sentAt);
      return { ...view, ...next, status: 'sent', sentAt: at, providerMessageId: event.data.providerMessageId, updatedAt: at };
    }
    case 'MessageDelivered': {
      const at = new Date(event.data.deliveredAt);
      return { ...view, ...next, status: 'delivered', deliveredAt: at, updatedAt: at };
    }
    case 'MessageUndelivered': {
      const at = new Date(event.data.undeliveredAt);
      const d = event.data;
      return { ...view, ...next, status: 'undelivered', errorCode: d.errorCode, failureReason: d.reason, updatedAt: at };
    }
    case 'MessageFailed': {
      const at = new Date(event.data.failedAt);
      const d = event.data;
      return { ...view, ...next, status: 'failed', errorCode: d.errorCode, failureReason: d.reason, updatedAt: at };
    }
    case 'MessageCanceled': {
      const at = new Date(event.data.canceledAt);
      return { ...view, ...next, status: 'canceled', updatedAt: at };
    }
    case 'MessageExpired': {
      const at = new Date(event.data.expiredAt);
      const d = event.data;
      return { ...view, ...next, status: 'expired', errorCode: d.errorCode, failureReason: d.reason, updatedAt: at };
    }
    case 'MessageBodyRedacted': {
      const at = new Date(event.data.redactedAt);
      return { ...view, ...next, body: null, bodyRedacted: true, updatedAt: at };
    }
    // A deleted message has no view: the projection removes its row, readers answer "not found".
    case 'MessageDeleted':
      return null;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

export function messageViewToRow(v: MessageView): NewMessageRow {
  return {
    message_id: v.messageId,
    account_id: v.accountId,
    direction: v.direction,
    from_number: v.from,
    to_number: v.to,
    body: v.body,
    body_redacted: v.bodyRedacted,
    segment_count: v.segmentCount,
    encoding: v.encoding,
    status: v.status,
    channel: v.channel,
    dialect: v.dialect,
    bulk_id: v.bulkId,
    status_callback: v.statusCallback,
    max_price: v.maxPrice,
    validity_period_seconds: v.validityPeriodSeconds,
    expires_at: v.expiresAt,
    scheduled_for: v.scheduledFor,
    error_code: v.errorCode,
    failure_reason: v.failureReason,
    provider_message_id: v.providerMessageId,
    cost_usd: v.costUsd,
    price: v.price?.amount ?? null,
    price_unit: v.price?.unit ?? null,
    billing_allowance_segments: v.billing?.monthlyAllowanceSegments ?? null,
    billing_overage_price_usd: v.billing?.overagePricePerSegmentUsd ?? null,
    created_at: v.createdAt,
    queued_at: v.queuedAt,
    dispatched_at: v.dispatchedAt,
    sent_at: v.sentAt,
    delivered_at: v.deliveredAt,
    updated_at: v.updatedAt,
    stream_revision: v.streamRevision,
  };
}

export function messageRowToView(r: MessageRow): MessageView {
  const num = (x: string | null) => (x === null ? null : Number(x));
  return {
    messageId: r.message_id,
    accountId: r.account_id,
    direction: r.direction,
    from: r.from_number,
    to: r.to_number,
    body: r.body,
    bodyRedacted: r.body_redacted,
    segmentCount: r.segment_count,
    encoding: r.encoding as TextEncoding,
    status: r.status as MessageStatus,
    channel: r.channel as ChannelKind,
    dialect: r.dialect,
    bulkId: r.bulk_id,
    statusCallback: r.status_callback,
    maxPrice: num(r.max_price),
    validityPeriodSeconds: r.validity_period_seconds,
    expiresAt: r.expires_at,
    scheduledFor: r.scheduled_for,
    errorCode: r.error_code,
    failureReason: r.failure_reason,
    providerMessageId: r.provider_message_id,
    costUsd: num(r.cost_usd),
    price: r.price === null || r.price_unit === null ? null : { amount: Number(r.price), unit: r.price_unit },
    billing:
      r.billing_allowance_segments === null || r.billing_overage_price_usd === null
        ? null
        : { monthlyAllowanceSegments: r.billing_allowance_segments, overagePricePerSegmentUsd: Number(r.billing_overage_price_usd) },
    createdAt: r.created_at,
    queuedAt: r.queued_at,
    dispatchedAt: r.dispatched_at,
    sentAt: r.sent_at,
    deliveredAt: r.delivered_at,
    updatedAt: r.updated_at,
    streamRevision: BigInt(r.stream_revision),
  };
}
