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
    expiresAt: isoTime.describe('End of the validity period: not dispatched by then, the message expires.'),
    scheduledFor: isoTime.nullable().describe('When a scheduled message is released for sending; null for a send now.'),
    billing: BillingTerms,
    /** What the message costs by the destination's price table (Reach `price`/`priceUnit`); absent on older events. */
    price: z
      .object({ amount: z.number().min(0), unit: z.string().min(1) })
      .nullable()
      .optional()
      .describe("What the message costs by the destination's price table (Reach price/priceUnit); absent on older events."),
    acceptedAt: isoTime,
  }),
}).describe(
  'A send request was accepted: the first event of an outbound message\'s stream. Appended by api-gateway ' +
    '(expected revision "no stream") before it answers the client, together with MessageQueued (send now), ' +
    'MessageScheduled (scheduledFor set) or MessageFailed (price above maxPrice, errorCode 20201).',
);

export const MessageScheduled = z.object({
  type: z.literal('MessageScheduled'),
  data: z.object({ ...messageRef, scheduledFor: isoTime }),
}).describe(
  'The message waits for its scheduled time. Appended by api-gateway with MessageAccepted when the request ' +
    'set scheduledTime; the scheduler queues it (MessageQueued) when the time comes.',
);

/** Released for sending: immediately after acceptance, or when its scheduled time came. */
export const MessageQueued = z.object({
  type: z.literal('MessageQueued'),
  data: z.object({ ...messageRef, from: z.string(), queuedAt: isoTime }),
}).describe(
  'Released for sending: immediately after acceptance (appended by api-gateway with MessageAccepted), or when ' +
    'its scheduled time came (appended by scheduler). The dispatcher consumes it and queues the message per sender.',
);

/** Handed to a channel that is connected and has taken the command. */
export const MessageDispatched = z.object({
  type: z.literal('MessageDispatched'),
  data: z.object({ ...messageRef, channel: ChannelKind.describe('The channel that took the message.'), dispatchedAt: isoTime }),
}).describe('Handed to a channel that is connected and has taken the command. Appended by dispatcher.');

export const MessageSent = z.object({
  type: z.literal('MessageSent'),
  data: z.object({
    ...messageRef,
    sentAt: isoTime,
    providerMessageId: z.string().nullable().describe("The channel's or carrier's id of the message, when it reported one."),
  }),
}).describe(
  'The channel handed the message to the carrier. Appended by dispatcher as the channel reports it; a delivery ' +
    'receipt without an earlier "sent" report is recorded as MessageSent followed by the receipt.',
);

export const MessageDelivered = z.object({
  type: z.literal('MessageDelivered'),
  data: z.object({
    ...messageRef,
    deliveredAt: isoTime,
    dlrDate: z.string().regex(/^\d{10}$/).nullable().describe("The carrier receipt's done date (YYMMDDhhmm), when it had one."),
  }),
}).describe('The carrier confirmed delivery to the handset (terminal). Appended by dispatcher from the delivery receipt.');

export const MessageUndelivered = z.object({
  type: z.literal('MessageUndelivered'),
  data: z.object({
    ...messageRef,
    undeliveredAt: isoTime,
    errorCode: z.number().int(),
    reason: z.string(),
    dlrDate: z.string().regex(/^\d{10}$/).nullable().describe("The carrier receipt's done date (YYMMDDhhmm), when it had one."),
  }),
}).describe(
  'The carrier reported that the sent message could not be delivered (terminal). Appended by dispatcher from the ' +
    'delivery receipt.',
);

export const MessageFailed = z.object({
  type: z.literal('MessageFailed'),
  data: z.object({ ...messageRef, failedAt: isoTime, errorCode: z.number().int(), reason: z.string() }),
}).describe(
  'The message could not be sent (terminal). Appended by dispatcher when no channel could take it or the channel ' +
    'reported an error, or by api-gateway with MessageAccepted when its price is above maxPrice (errorCode 20201).',
);

export const MessageCanceled = z.object({
  type: z.literal('MessageCanceled'),
  data: z.object({ ...messageRef, canceledAt: isoTime }),
}).describe(
  'The customer canceled a message before it was queued (terminal). Appended by api-gateway (Reach unschedule).',
);

/** The validity period ended before any channel took the message. */
export const MessageExpired = z.object({
  type: z.literal('MessageExpired'),
  data: z.object({ ...messageRef, expiredAt: isoTime, errorCode: z.number().int(), reason: z.string() }),
}).describe(
  'The validity period ended before any channel took the message (terminal, errorCode 30001). Appended by ' +
    'scheduler when the validity timer falls due, or by dispatcher when it would dispatch a message too late.',
);

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
}).describe(
  "An inbound SMS arrived on one of the account's numbers: the first event of an inbound message's stream. " +
    'Appended by dispatcher as the channel reports it.',
);

/** The stored text was removed on the customer's request; what was sent stays sent. */
export const MessageBodyRedacted = z.object({
  type: z.literal('MessageBodyRedacted'),
  data: z.object({ ...messageRef, redactedAt: isoTime }),
}).describe(
  "The stored text was removed on the customer's request (Reach update with an empty body); what was sent stays " +
    'sent. Appended by api-gateway; later events do not change it.',
);

/**
 * The customer deleted a finished message (Reach `delete`): it leaves the read models, and every
 * later command on the stream answers "not found". Only a terminal outbound message is deleted.
 */
export const MessageDeleted = z.object({
  type: z.literal('MessageDeleted'),
  data: z.object({ ...messageRef, deletedAt: isoTime }),
}).describe(
  'The customer deleted a finished outbound message (Reach delete): it leaves the read models, and every later ' +
    'command on the stream answers "not found". Appended by api-gateway; the last event of the stream.',
);

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
