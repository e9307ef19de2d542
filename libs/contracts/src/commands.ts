import { z } from 'zod';

/**
 * Commands travel on NATS (JetStream, deduplicated by `commandId`). They are imperative and,
 * like events, plain data. `issuedAt` is the caller's clock, so handlers stay deterministic.
 */
const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number such as +14155552671');

export const SimulateInbound = z.object({
  commandId: z.uuid(),
  from: e164,
  to: e164,
  body: z.string().min(1).max(1600),
  issuedAt: z.iso.datetime({ offset: true }),
}).describe(
  'Deliver an inbound SMS to the simulated phone holding `to` (reachctl simulate inbound). Consumed by dispatcher, ' +
    'which records it as MessageReceived.',
);
export type SimulateInbound = z.infer<typeof SimulateInbound>;

/** What a number's phone presence entry holds (presence KV bucket). */
export const PhonePresence = z.object({
  online: z.boolean(),
  changedAt: z.iso.datetime({ offset: true }),
});
export type PhonePresence = z.infer<typeof PhonePresence>;

/**
 * Commands on one message's stream, decided by the message decider. `now` comes in with the
 * command so the decision is a pure function of (command, state).
 */
const isoTime = z.iso.datetime({ offset: true });
const ref = { messageId: z.uuid(), accountId: z.uuid(), now: isoTime };

export const AcceptMessage = z.object({
  type: z.literal('AcceptMessage'),
  data: z.object({
    ...ref,
    from: z.string().min(1),
    to: z.string().min(1),
    body: z.string(),
    segments: z.object({ encoding: z.enum(['GSM-7', 'UCS-2']), count: z.number().int().min(1) }),
    channel: z.enum(['simulated', 'device', 'smpp']),
    dialect: z.enum(['reachcell', 'reach']),
    bulkId: z.string().nullable(),
    statusCallback: z.string().nullable(),
    maxPrice: z.number().positive().nullable(),
    validityPeriodSeconds: z.number().int().positive(),
    scheduledFor: isoTime.nullable(),
    billing: z.object({ monthlyAllowanceSegments: z.number().int().min(0), overagePricePerSegmentUsd: z.number().min(0) }),
    price: z.object({ amount: z.number().min(0), unit: z.string().min(1) }).nullable().optional(),
  }),
});
export const ReleaseMessage = z.object({ type: z.literal('ReleaseMessage'), data: z.object({ ...ref }) });
export const DispatchMessage = z.object({
  type: z.literal('DispatchMessage'),
  data: z.object({ ...ref, channel: z.enum(['simulated', 'device', 'smpp']) }),
});
export const RecordMessageSent = z.object({
  type: z.literal('RecordMessageSent'),
  data: z.object({ ...ref, providerMessageId: z.string().nullable() }),
});
export const RecordMessageDelivered = z.object({
  type: z.literal('RecordMessageDelivered'),
  data: z.object({ ...ref, dlrDate: z.string().regex(/^\d{10}$/).nullable() }),
});
export const RecordMessageUndelivered = z.object({
  type: z.literal('RecordMessageUndelivered'),
  data: z.object({ ...ref, errorCode: z.number().int(), reason: z.string(), dlrDate: z.string().regex(/^\d{10}$/).nullable() }),
});
export const FailMessage = z.object({
  type: z.literal('FailMessage'),
  data: z.object({ ...ref, errorCode: z.number().int(), reason: z.string() }),
});
export const CancelMessage = z.object({ type: z.literal('CancelMessage'), data: z.object({ ...ref }) });
export const ExpireMessage = z.object({ type: z.literal('ExpireMessage'), data: z.object({ ...ref }) });
export const RecordInboundMessage = z.object({
  type: z.literal('RecordInboundMessage'),
  data: z.object({
    ...ref,
    from: z.string().min(1),
    to: z.string().min(1),
    body: z.string(),
    segments: z.object({ encoding: z.enum(['GSM-7', 'UCS-2']), count: z.number().int().min(1) }),
    channel: z.enum(['simulated', 'device', 'smpp']),
  }),
});
export const RedactMessageBody = z.object({ type: z.literal('RedactMessageBody'), data: z.object({ ...ref }) });
export const DeleteMessage = z.object({ type: z.literal('DeleteMessage'), data: z.object({ ...ref }) });

export const MessageCommand = z.discriminatedUnion('type', [
  AcceptMessage,
  ReleaseMessage,
  DispatchMessage,
  RecordMessageSent,
  RecordMessageDelivered,
  RecordMessageUndelivered,
  FailMessage,
  CancelMessage,
  ExpireMessage,
  RecordInboundMessage,
  RedactMessageBody,
  DeleteMessage,
]);
export type MessageCommand = z.infer<typeof MessageCommand>;
export type MessageCommandOf<T extends MessageCommand['type']> = Extract<MessageCommand, { type: T }>;
