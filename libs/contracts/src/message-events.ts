import { z } from 'zod';

/**
 * Every fact in one message's life. Events are past tense, plain readonly data, and carry the
 * message and account ids so that any subscriber can route them without reading the stream.
 * Timestamps are ISO-8601 strings in UTC.
 */
const isoTime = z.iso.datetime({ offset: true });
const messageRef = { messageId: z.uuid(), accountId: z.uuid() };

export const channelKinds = ['simulated', 'device', 'smpp'] as const;
export const ChannelKind = z.enum(channelKinds);
export type ChannelKind = z.infer<typeof ChannelKind>;

export const dialects = ['reachcell', 'reach'] as const;
export const Dialect = z.enum(dialects);
export type Dialect = z.infer<typeof Dialect>;

export const TextEncoding = z.enum(['GSM-7', 'UCS-2']);
export type TextEncoding = z.infer<typeof TextEncoding>;

export const Segmentation = z.object({
  encoding: TextEncoding,
  count: z.number().int().min(1),
});
export type Segmentation = z.infer<typeof Segmentation>;

/** The account's plan terms at accept time, so billing can be folded from events alone. */
export const BillingTerms = z.object({
  monthlyAllowanceSegments: z.number().int().min(0),
  overagePricePerSegmentUsd: z.number().min(0),
});
export type BillingTerms = z.infer<typeof BillingTerms>;

export const MessageAccepted = z.object({
  type: z.literal('MessageAccepted'),
  data: z.object({
    ...messageRef,
    from: z.string().min(1),
    to: z.string().min(1),
    body: z.string(),
    segments: Segmentation,
    channel: ChannelKind,
    dialect: Dialect,
    bulkId: z.string().nullable(),
    statusCallback: z.string().nullable(),
    maxPrice: z.number().positive().nullable(),
    validityPeriodSeconds: z.number().int().positive(),
    expiresAt: isoTime,
    scheduledFor: isoTime.nullable(),
    billing: BillingTerms,
    /** What the message costs by the destination's price table (Reach `price`/`priceUnit`); absent on older events. */
    price: z.object({ amount: z.number().min(0), unit: z.string().min(1) }).nullable().optional(),
    acceptedAt: isoTime,
  }),
});

export const MessageScheduled = z.object({
  type: z.literal('MessageScheduled'),
  data: z.object({ ...messageRef, scheduledFor: isoTime }),
});

/** Released for sending: immediately after acceptance, or when its scheduled time came. */
export const MessageQueued = z.object({
  type: z.literal('MessageQueued'),
  data: z.object({ ...messageRef, from: z.string(), queuedAt: isoTime }),
});

/** Handed to a channel that is connected and has taken the command. */
export const MessageDispatched = z.object({
  type: z.literal('MessageDispatched'),
  data: z.object({ ...messageRef, channel: ChannelKind, dispatchedAt: isoTime }),
});

export const MessageSent = z.object({
  type: z.literal('MessageSent'),
  data: z.object({ ...messageRef, sentAt: isoTime, providerMessageId: z.string().nullable() }),
});

export const MessageDelivered = z.object({
  type: z.literal('MessageDelivered'),
  data: z.object({ ...messageRef, deliveredAt: isoTime, dlrDate: z.string().regex(/^\d{10}$/).nullable() }),
});

export const MessageUndelivered = z.object({
  type: z.literal('MessageUndelivered'),
  data: z.object({
    ...messageRef,
    undeliveredAt: isoTime,
    errorCode: z.number().int(),
    reason: z.string(),
    dlrDate: z.string().regex(/^\d{10}$/).nullable(),
  }),
});

export const MessageFailed = z.object({
  type: z.literal('MessageFailed'),
  data: z.object({ ...messageRef, failedAt: isoTime, errorCode: z.number().int(), reason: z.string() }),
});

export const MessageCanceled = z.object({
  type: z.literal('MessageCanceled'),
  data: z.object({ ...messageRef, canceledAt: isoTime }),
});

/** The validity period ended before any channel took the message. */
export const MessageExpired = z.object({
  type: z.literal('MessageExpired'),
  data: z.object({ ...messageRef, expiredAt: isoTime, errorCode: z.number().int(), reason: z.string() }),
});

export const MessageReceived = z.object({
  type: z.literal('MessageReceived'),
  data: z.object({
    ...messageRef,
    from: z.string().min(1),
    to: z.string().min(1),
    body: z.string(),
    segments: Segmentation,
    channel: ChannelKind,
    receivedAt: isoTime,
  }),
});

/** The stored text was removed on the customer's request; what was sent stays sent. */
export const MessageBodyRedacted = z.object({
  type: z.literal('MessageBodyRedacted'),
  data: z.object({ ...messageRef, redactedAt: isoTime }),
});

/**
 * The customer deleted a finished message (Reach `delete`): it leaves the read models, and every
 * later command on the stream answers "not found". Only a terminal outbound message is deleted.
 */
export const MessageDeleted = z.object({
  type: z.literal('MessageDeleted'),
  data: z.object({ ...messageRef, deletedAt: isoTime }),
});

export const MessageEvent = z.discriminatedUnion('type', [
  MessageAccepted,
  MessageScheduled,
  MessageQueued,
  MessageDispatched,
  MessageSent,
  MessageDelivered,
  MessageUndelivered,
  MessageFailed,
  MessageCanceled,
  MessageExpired,
  MessageReceived,
  MessageBodyRedacted,
  MessageDeleted,
]);
export type MessageEvent = z.infer<typeof MessageEvent>;
export type MessageEventType = MessageEvent['type'];
export type MessageEventOf<T extends MessageEventType> = Extract<MessageEvent, { type: T }>;

export const messageEventTypes = MessageEvent.options.map((o) => o.shape.type.value) as readonly MessageEventType[];

export function isMessageEventType(type: string): type is MessageEventType {
  return (messageEventTypes as readonly string[]).includes(type);
}

/** Error codes carried by failed, expired and undelivered events (Reach dialect `errorCode`). */
export const deliveryErrors = {
  validityExpired: { code: 30001, reason: 'Validity period elapsed before the message could be sent' },
  channelUnavailable: { code: 30003, reason: 'No channel could take the message' },
  carrierRejected: { code: 30004, reason: 'The carrier rejected the message' },
  unreachableDestination: { code: 30005, reason: 'Destination handset unreachable' },
  deviceError: { code: 30008, reason: 'The sending device reported an error' },
  costAboveMaxPrice: { code: 20201, reason: 'Message cost is above maxPrice' },
} as const;
