import { currentLogFields, traceHeadersOf, type TraceHeaders } from '@reach/telemetry';

export interface MessageEventMetadata extends TraceHeaders {
  /** The originating request's correlation id; the message id when the work has none (timers, sweeps). */
  readonly correlationId: string;
  readonly messageId: string;
  readonly accountId: string;
}

/**
 * What every appended message event carries besides its data, so the hops after it (relay,
 * consumers, callbacks) continue the same trace (`traceparent`, `tracestate` of the span active
 * at the append) and log the same correlation id, message and account.
 *
 * The active context is used only when it is this message's (or names no message): work for one
 * message that happens to run inside another's context (a sender's backlog sent on the arrival
 * of a new message) must not be attributed to that other message's request and trace.
 */
export function messageEventMetadata(ref: { readonly messageId: string; readonly accountId: string }): MessageEventMetadata {
  const fields = currentLogFields();
  const own = fields?.messageId === undefined || fields.messageId === ref.messageId;
  return {
    correlationId: (own && fields?.correlationId) || ref.messageId,
    messageId: ref.messageId,
    accountId: ref.accountId,
    ...(own ? traceHeadersOf() : {}),
  };
}
