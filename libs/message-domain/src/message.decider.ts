import {
  deliveryErrors,
  type BillingTerms,
  type ChannelKind,
  type Dialect,
  type MessageCommand,
  type MessageCommandOf,
  type MessageEvent,
  type MessageEventOf,
  type MessageStatus,
  type Segmentation,
} from '@reach/contracts';

/**
 * The message decider (PRODUCT.md §3): `decide(command, state)` says which events a command
 * produces, `evolve(state, event)` folds one event into the state. Both are pure: time comes in
 * as the command's `now`, and every timestamp written into an event is that instant in UTC
 * (`toISOString()`).
 *
 *   accepted ─┬─> scheduled ─(release)─┐          (cancel) ─> canceled
 *             └────────────────────────┴─> queued ─> dispatched ─> sent ─┬─> delivered
 *                 (fail) ─> failed    (validity elapsed) ─> expired      └─> undelivered
 *   inbound: received
 *
 * Guarantees:
 * - Terminal statuses never change again; only the body can still be redacted.
 * - A queued message is either dispatched or expired, never both: dispatching after the deadline
 *   expires it instead, and expiring a dispatched message is a no-op.
 * - Repeating a command after its events were appended produces no events (or the same rule
 *   violation), so at-least-once delivery of commands is harmless.
 * - A message whose price is above its `maxPrice` is accepted and fails in the same decision
 *   (errorCode 20201): it is recorded, never queued, and its status callback says `failed`.
 * - A deleted message (only a terminal outbound one can be deleted) answers every later command
 *   with MESSAGE_NOT_FOUND, except a repeated delete, which is a no-op.
 */

export type MessageRuleViolationCode =
  | 'MESSAGE_NOT_FOUND'
  | 'MESSAGE_EXISTS'
  | 'TOO_LATE_TO_CANCEL'
  | 'NOT_EXPIRED_YET'
  | 'INVALID_TRANSITION';

/** A command that the message's current state does not allow. Stable `code`s, mapped at each edge. */
export class MessageRuleViolation extends Error {
  constructor(
    readonly code: MessageRuleViolationCode,
    message: string,
  ) {
    super(message);
    this.name = 'MessageRuleViolation';
  }
}

export type OutboundStatus = Exclude<MessageStatus, 'received'>;

export interface InitialMessageState {
  readonly status: 'initial';
}

export interface OutboundMessageState {
  readonly status: OutboundStatus;
  readonly direction: 'outbound';
  readonly messageId: string;
  readonly accountId: string;
  readonly from: string;
  readonly to: string;
  /** null once redacted. */
  readonly body: string | null;
  readonly redacted: boolean;
  readonly segments: Segmentation;
  /** The channel chosen at accept time, replaced by the one that took the message at dispatch. */
  readonly channel: ChannelKind;
  readonly dialect: Dialect;
  readonly bulkId: string | null;
  readonly statusCallback: string | null;
  readonly maxPrice: number | null;
  readonly billing: BillingTerms;
  readonly validityPeriodSeconds: number;
  /** The validity deadline: not dispatched by then, the message expires. */
  readonly expiresAt: string;
  readonly scheduledFor: string | null;
  readonly acceptedAt: string;
  readonly queuedAt: string | null;
  /** Non-null once a channel took the message (the "dispatched" flag). */
  readonly dispatchedAt: string | null;
  /** Non-null once the channel handed it to the carrier (the "sent" flag). */
  readonly sentAt: string | null;
  readonly providerMessageId: string | null;
  readonly deliveredAt: string | null;
  /** The carrier receipt's done date (YYMMDDhhmm), when it had one. */
  readonly dlrDate: string | null;
  /** When a terminal status was reached. */
  readonly finishedAt: string | null;
  /** Set by failed, expired and undelivered. */
  readonly errorCode: number | null;
  readonly failureReason: string | null;
  /** Set once the customer deleted the (terminal) message: it no longer exists for commands. */
  readonly deleted?: true;
}

export interface InboundMessageState {
  readonly status: 'received';
  readonly direction: 'inbound';
  readonly messageId: string;
  readonly accountId: string;
  readonly from: string;
  readonly to: string;
  /** null once redacted. */
  readonly body: string | null;
  readonly redacted: boolean;
  readonly segments: Segmentation;
  readonly channel: ChannelKind;
  readonly receivedAt: string;
}

export type ExistingMessageState = OutboundMessageState | InboundMessageState;
export type MessageState = InitialMessageState | ExistingMessageState;

export function initialState(): MessageState {
  return { status: 'initial' };
}

export function foldMessage(events: readonly MessageEvent[]): MessageState {
  return events.reduce(evolve, initialState());
}

// ---------------------------------------------------------------------------------------------
// decide

export function decide(command: MessageCommand, state: MessageState): MessageEvent[] {
  switch (command.type) {
    case 'AcceptMessage':
      return accept(command, state);
    case 'RecordInboundMessage':
      return recordInbound(command, state);
    case 'RedactMessageBody':
      return redact(command, existing(command, state));
    case 'ReleaseMessage':
      return release(command, outbound(command, state));
    case 'DispatchMessage':
      return dispatch(command, outbound(command, state));
    case 'ExpireMessage':
      return expire(command, outbound(command, state));
    case 'RecordMessageSent':
      return recordSent(command, outbound(command, state));
    case 'RecordMessageDelivered':
      return recordDelivered(command, outbound(command, state));
    case 'RecordMessageUndelivered':
      return recordUndelivered(command, outbound(command, state));
    case 'FailMessage':
      return fail(command, outbound(command, state));
    case 'CancelMessage':
      return cancel(command, outbound(command, state));
    case 'DeleteMessage':
      return deleteMessage(command, state);
    default:
      return assertNever(command);
  }
}

function accept(command: MessageCommandOf<'AcceptMessage'>, state: MessageState): MessageEvent[] {
  const c = command.data;
  if (state.status !== 'initial') {
    // The same message accepted again (a retried request): already done.
    if (state.direction === 'outbound' && state.messageId === c.messageId && state.accountId === c.accountId) return [];
    throw new MessageRuleViolation('MESSAGE_EXISTS', `message ${c.messageId} already exists`);
  }
  const now = instant(c.now);
  const scheduledFor = c.scheduledFor === null ? null : instant(c.scheduledFor);
  // The validity period is how long the message may wait in the send queue, so for a scheduled
  // message it starts when the message is due, not when it was accepted.
  const validFrom = scheduledFor === null ? now : Math.max(now, scheduledFor);
  const ref = { messageId: c.messageId, accountId: c.accountId };
  const accepted: MessageEventOf<'MessageAccepted'> = {
    type: 'MessageAccepted',
    data: {
      ...ref,
      from: c.from,
      to: c.to,
      body: c.body,
      segments: { encoding: c.segments.encoding, count: c.segments.count },
      channel: c.channel,
      dialect: c.dialect,
      bulkId: c.bulkId,
      statusCallback: c.statusCallback,
      maxPrice: c.maxPrice,
      validityPeriodSeconds: c.validityPeriodSeconds,
      expiresAt: iso(validFrom + c.validityPeriodSeconds * 1000),
      scheduledFor: scheduledFor === null ? null : iso(scheduledFor),
      billing: { ...c.billing },
      price: c.price ? { ...c.price } : null,
      acceptedAt: iso(now),
    },
  };
  if (c.price && c.maxPrice !== null && c.price.amount > c.maxPrice) {
    const { code, reason } = deliveryErrors.costAboveMaxPrice;
    return [accepted, { type: 'MessageFailed', data: { ...ref, failedAt: iso(now), errorCode: code, reason } }];
  }
  if (scheduledFor !== null) {
    return [accepted, { type: 'MessageScheduled', data: { ...ref, scheduledFor: iso(scheduledFor) } }];
  }
  return [accepted, { type: 'MessageQueued', data: { ...ref, from: c.from, queuedAt: iso(now) } }];
}

function recordInbound(command: MessageCommandOf<'RecordInboundMessage'>, state: MessageState): MessageEvent[] {
  const c = command.data;
  if (state.status !== 'initial') {
    // The same inbound SMS reported again (at-least-once from the channel): already recorded.
    if (state.direction === 'inbound' && state.messageId === c.messageId && state.accountId === c.accountId) return [];
    throw new MessageRuleViolation('MESSAGE_EXISTS', `message ${c.messageId} already exists`);
  }
  return [
    {
      type: 'MessageReceived',
      data: {
        messageId: c.messageId,
        accountId: c.accountId,
        from: c.from,
        to: c.to,
        body: c.body,
        segments: { encoding: c.segments.encoding, count: c.segments.count },
        channel: c.channel,
        receivedAt: utc(c.now),
      },
    },
  ];
}

function redact(command: MessageCommandOf<'RedactMessageBody'>, state: ExistingMessageState): MessageEvent[] {
  if (state.redacted) return [];
  return [{ type: 'MessageBodyRedacted', data: { ...refOf(state), redactedAt: utc(command.data.now) } }];
}

function release(command: MessageCommandOf<'ReleaseMessage'>, state: OutboundMessageState): MessageEvent[] {
  switch (state.status) {
    case 'accepted':
    case 'scheduled':
      return [{ type: 'MessageQueued', data: { ...refOf(state), from: state.from, queuedAt: utc(command.data.now) } }];
    case 'queued':
    case 'dispatched':
    case 'sent':
    case 'delivered':
    case 'undelivered':
    case 'failed':
    case 'canceled':
    case 'expired':
      return [];
    default:
      return assertNever(state.status);
  }
}

function dispatch(command: MessageCommandOf<'DispatchMessage'>, state: OutboundMessageState): MessageEvent[] {
  const c = command.data;
  switch (state.status) {
    case 'accepted':
    case 'scheduled':
      throw new MessageRuleViolation('INVALID_TRANSITION', `message ${state.messageId} is ${state.status}, not yet released for sending`);
    case 'queued':
      if (instant(c.now) >= instant(state.expiresAt)) return [expired(state, c.now)];
      return [{ type: 'MessageDispatched', data: { ...refOf(state), channel: c.channel, dispatchedAt: utc(c.now) } }];
    case 'dispatched':
    case 'sent':
    case 'delivered':
    case 'undelivered':
    case 'failed':
    case 'canceled':
    case 'expired':
      return [];
    default:
      return assertNever(state.status);
  }
}

function expire(command: MessageCommandOf<'ExpireMessage'>, state: OutboundMessageState): MessageEvent[] {
  switch (state.status) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
      if (instant(command.data.now) < instant(state.expiresAt)) {
        throw new MessageRuleViolation('NOT_EXPIRED_YET', `message ${state.messageId} is valid until ${state.expiresAt}`);
      }
      return [expired(state, command.data.now)];
    // A channel took it in time: the dispatch won, the expiry timer is late news.
    case 'dispatched':
    case 'sent':
    case 'delivered':
    case 'undelivered':
    case 'failed':
    case 'canceled':
    case 'expired':
      return [];
    default:
      return assertNever(state.status);
  }
}

function recordSent(command: MessageCommandOf<'RecordMessageSent'>, state: OutboundMessageState): MessageEvent[] {
  const c = command.data;
  switch (state.status) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
      throw notDispatched(state);
    case 'dispatched':
      return [sent(state, c.now, c.providerMessageId)];
    case 'sent':
    case 'delivered':
    case 'undelivered':
    case 'failed':
    case 'canceled':
    case 'expired':
      return [];
    default:
      return assertNever(state.status);
  }
}

function recordDelivered(command: MessageCommandOf<'RecordMessageDelivered'>, state: OutboundMessageState): MessageEvent[] {
  const c = command.data;
  const delivered: MessageEvent = { type: 'MessageDelivered', data: { ...refOf(state), deliveredAt: utc(c.now), dlrDate: c.dlrDate } };
  return receipt(state, c.now, delivered);
}

function recordUndelivered(command: MessageCommandOf<'RecordMessageUndelivered'>, state: OutboundMessageState): MessageEvent[] {
  const c = command.data;
  const undelivered: MessageEvent = {
    type: 'MessageUndelivered',
    data: { ...refOf(state), undeliveredAt: utc(c.now), errorCode: c.errorCode, reason: c.reason, dlrDate: c.dlrDate },
  };
  return receipt(state, c.now, undelivered);
}

/**
 * A delivery receipt. Some channels report the receipt without a separate "sent" step; then the
 * send is recorded first (sentAt = the receipt's time), so every delivered message was sent.
 */
function receipt(state: OutboundMessageState, now: string, outcome: MessageEvent): MessageEvent[] {
  switch (state.status) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
      throw notDispatched(state);
    case 'dispatched':
      return [sent(state, now, null), outcome];
    case 'sent':
      return [outcome];
    case 'delivered':
    case 'undelivered':
    case 'failed':
    case 'canceled':
    case 'expired':
      return [];
    default:
      return assertNever(state.status);
  }
}

function fail(command: MessageCommandOf<'FailMessage'>, state: OutboundMessageState): MessageEvent[] {
  const c = command.data;
  switch (state.status) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
    case 'dispatched':
    case 'sent':
      return [{ type: 'MessageFailed', data: { ...refOf(state), failedAt: utc(c.now), errorCode: c.errorCode, reason: c.reason } }];
    case 'delivered':
    case 'undelivered':
    case 'failed':
    case 'canceled':
    case 'expired':
      return [];
    default:
      return assertNever(state.status);
  }
}

function cancel(command: MessageCommandOf<'CancelMessage'>, state: OutboundMessageState): MessageEvent[] {
  switch (state.status) {
    case 'accepted':
    case 'scheduled':
      return [{ type: 'MessageCanceled', data: { ...refOf(state), canceledAt: utc(command.data.now) } }];
    case 'canceled':
      return [];
    case 'queued':
    case 'dispatched':
    case 'sent':
    case 'delivered':
    case 'undelivered':
    case 'failed':
    case 'expired':
      throw new MessageRuleViolation('TOO_LATE_TO_CANCEL', `message ${state.messageId} is ${state.status}: too late to cancel`);
    default:
      return assertNever(state.status);
  }
}

/** Only a finished outbound message can be deleted; deleting it again changes nothing. */
function deleteMessage(command: MessageCommandOf<'DeleteMessage'>, state: MessageState): MessageEvent[] {
  const c = command.data;
  if (state.status !== 'initial' && state.direction === 'outbound' && state.deleted && state.messageId === c.messageId && state.accountId === c.accountId) {
    return [];
  }
  const message = outbound(command, state);
  switch (message.status) {
    case 'delivered':
    case 'undelivered':
    case 'failed':
    case 'canceled':
    case 'expired':
      return [{ type: 'MessageDeleted', data: { ...refOf(message), deletedAt: utc(c.now) } }];
    case 'accepted':
    case 'scheduled':
    case 'queued':
    case 'dispatched':
    case 'sent':
      throw new MessageRuleViolation('INVALID_TRANSITION', `message ${message.messageId} is ${message.status}: only a finished message can be deleted`);
    default:
      return assertNever(message.status);
  }
}

/** The state of the message the command names; MESSAGE_NOT_FOUND when there is none (or it was deleted). */
function existing(command: MessageCommand, state: MessageState): ExistingMessageState {
  const { messageId, accountId } = command.data;
  // A stream holds one message; another id (or another account's command) means not this one,
  // and saying "not found" does not reveal that the message exists for someone else.
  if (
    state.status === 'initial' ||
    (state.direction === 'outbound' && state.deleted) ||
    state.messageId !== messageId ||
    state.accountId !== accountId
  ) {
    throw new MessageRuleViolation('MESSAGE_NOT_FOUND', `message ${messageId} not found`);
  }
  return state;
}

function outbound(command: MessageCommand, state: MessageState): OutboundMessageState {
  const found = existing(command, state);
  if (found.direction === 'inbound') {
    throw new MessageRuleViolation('INVALID_TRANSITION', `message ${found.messageId} is inbound: ${command.type} does not apply`);
  }
  return found;
}

function notDispatched(state: OutboundMessageState): MessageRuleViolation {
  return new MessageRuleViolation('INVALID_TRANSITION', `message ${state.messageId} is ${state.status}: it was never dispatched`);
}

function expired(state: OutboundMessageState, now: string): MessageEventOf<'MessageExpired'> {
  const { code, reason } = deliveryErrors.validityExpired;
  return { type: 'MessageExpired', data: { ...refOf(state), expiredAt: utc(now), errorCode: code, reason } };
}

function sent(state: OutboundMessageState, now: string, providerMessageId: string | null): MessageEventOf<'MessageSent'> {
  return { type: 'MessageSent', data: { ...refOf(state), sentAt: utc(now), providerMessageId } };
}

function refOf(state: ExistingMessageState): { messageId: string; accountId: string } {
  return { messageId: state.messageId, accountId: state.accountId };
}

// ---------------------------------------------------------------------------------------------
// evolve

/**
 * Folds one recorded event. Never throws: an event that does not apply to the state (which
 * `decide` never produces, e.g. MessageSent on a failed message) leaves the state unchanged, so
 * a damaged or replayed stream cannot move a terminal message.
 */
export function evolve(state: MessageState, event: MessageEvent): MessageState {
  switch (event.type) {
    case 'MessageAccepted': {
      if (state.status !== 'initial') return state;
      const e = event.data;
      return {
        status: 'accepted',
        direction: 'outbound',
        messageId: e.messageId,
        accountId: e.accountId,
        from: e.from,
        to: e.to,
        body: e.body,
        redacted: false,
        segments: e.segments,
        channel: e.channel,
        dialect: e.dialect,
        bulkId: e.bulkId,
        statusCallback: e.statusCallback,
        maxPrice: e.maxPrice,
        billing: e.billing,
        validityPeriodSeconds: e.validityPeriodSeconds,
        expiresAt: e.expiresAt,
        scheduledFor: e.scheduledFor,
        acceptedAt: e.acceptedAt,
        queuedAt: null,
        dispatchedAt: null,
        sentAt: null,
        providerMessageId: null,
        deliveredAt: null,
        dlrDate: null,
        finishedAt: null,
        errorCode: null,
        failureReason: null,
      };
    }
    case 'MessageReceived': {
      if (state.status !== 'initial') return state;
      const e = event.data;
      return {
        status: 'received',
        direction: 'inbound',
        messageId: e.messageId,
        accountId: e.accountId,
        from: e.from,
        to: e.to,
        body: e.body,
        redacted: false,
        segments: e.segments,
        channel: e.channel,
        receivedAt: e.receivedAt,
      };
    }
    case 'MessageBodyRedacted':
      return state.status === 'initial' ? state : { ...state, body: null, redacted: true };
    case 'MessageDeleted':
      return advance(state, ['delivered', 'undelivered', 'failed', 'canceled', 'expired'], (s) => ({ ...s, body: null, deleted: true }));
    case 'MessageScheduled':
      return advance(state, ['accepted'], (s) => ({ ...s, status: 'scheduled', scheduledFor: event.data.scheduledFor }));
    case 'MessageQueued':
      return advance(state, ['accepted', 'scheduled'], (s) => ({ ...s, status: 'queued', queuedAt: event.data.queuedAt }));
    case 'MessageDispatched':
      return advance(state, ['queued'], (s) => ({
        ...s,
        status: 'dispatched',
        channel: event.data.channel,
        dispatchedAt: event.data.dispatchedAt,
      }));
    case 'MessageSent':
      return advance(state, ['dispatched'], (s) => ({
        ...s,
        status: 'sent',
        sentAt: event.data.sentAt,
        providerMessageId: event.data.providerMessageId,
      }));
    case 'MessageDelivered':
      return advance(state, ['sent'], (s) => ({
        ...s,
        status: 'delivered',
        deliveredAt: event.data.deliveredAt,
        dlrDate: event.data.dlrDate,
        finishedAt: event.data.deliveredAt,
      }));
    case 'MessageUndelivered':
      return advance(state, ['sent'], (s) => ({
        ...s,
        status: 'undelivered',
        dlrDate: event.data.dlrDate,
        finishedAt: event.data.undeliveredAt,
        errorCode: event.data.errorCode,
        failureReason: event.data.reason,
      }));
    case 'MessageFailed':
      return advance(state, ['accepted', 'scheduled', 'queued', 'dispatched', 'sent'], (s) => ({
        ...s,
        status: 'failed',
        finishedAt: event.data.failedAt,
        errorCode: event.data.errorCode,
        failureReason: event.data.reason,
      }));
    case 'MessageCanceled':
      return advance(state, ['accepted', 'scheduled'], (s) => ({ ...s, status: 'canceled', finishedAt: event.data.canceledAt }));
    case 'MessageExpired':
      return advance(state, ['accepted', 'scheduled', 'queued'], (s) => ({
        ...s,
        status: 'expired',
        finishedAt: event.data.expiredAt,
        errorCode: event.data.errorCode,
        failureReason: event.data.reason,
      }));
    default:
      return assertNever(event);
  }
}

/** Applies a lifecycle step to an outbound message in one of the statuses it may follow. */
function advance(
  state: MessageState,
  from: readonly OutboundStatus[],
  step: (state: OutboundMessageState) => OutboundMessageState,
): MessageState {
  if (state.status === 'initial' || state.direction !== 'outbound' || !from.includes(state.status)) return state;
  return step(state);
}

// ---------------------------------------------------------------------------------------------

/** Milliseconds since the epoch of an ISO-8601 time; RangeError when it is not one. */
function instant(time: string): number {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO-8601 time: ${JSON.stringify(time)}`);
  return ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function utc(time: string): string {
  return iso(instant(time));
}

function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
