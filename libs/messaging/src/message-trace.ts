import { headers as natsHeaders, type MsgHdrs } from 'nats';
import { messageIdOfStream } from '@reach/contracts';
import { contextFromTraceHeaders, isValidCorrelationId, traceHeadersOf, type Attributes, type Context, type LogFields } from '@reach/telemetry';

/**
 * How a message's trace and log context ride on NATS: W3C `traceparent`/`tracestate` headers
 * (the publishing span) and Reach headers naming the correlation id, message and account, next
 * to `Nats-Msg-Id`. A consumer takes them from the headers, or from the payload's event metadata
 * when a message carries none (published before headers were added, or by another publisher).
 */
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';
export const CORRELATION_ID_HEADER = 'Reach-Correlation-Id';
export const MESSAGE_ID_HEADER = 'Reach-Message-Id';
export const ACCOUNT_ID_HEADER = 'Reach-Account-Id';

const logHeaders = [
  ['correlationId', CORRELATION_ID_HEADER],
  ['messageId', MESSAGE_ID_HEADER],
  ['accountId', ACCOUNT_ID_HEADER],
] as const;

/** The log fields an event's metadata names; the message id falls back to the stream's. */
export function logFieldsOfEvent(event: { readonly streamId?: unknown; readonly metadata?: unknown }): LogFields {
  const metadata = isRecord(event.metadata) ? event.metadata : {};
  const fields: LogFields = {};
  if (isValidCorrelationId(metadata['correlationId'])) fields.correlationId = metadata['correlationId'];
  const messageId = metadata['messageId'] ?? (typeof event.streamId === 'string' ? messageIdOfStream(event.streamId) : undefined);
  if (isValidCorrelationId(messageId)) fields.messageId = messageId;
  if (isValidCorrelationId(metadata['accountId'])) fields.accountId = metadata['accountId'];
  return fields;
}

/** Headers for a publish: the trace context of `ctx` (by default the active span's) and the log fields. */
export function messageHeaders(fields: LogFields | undefined, ctx?: Context): MsgHdrs {
  const headers = natsHeaders();
  const trace = traceHeadersOf(ctx);
  if (trace.traceparent !== undefined) headers.set(TRACEPARENT_HEADER, trace.traceparent);
  if (trace.tracestate !== undefined) headers.set(TRACESTATE_HEADER, trace.tracestate);
  for (const [field, header] of logHeaders) {
    const value = fields?.[field];
    if (value !== undefined) headers.set(header, value);
  }
  return headers;
}

export interface ConsumedContext {
  /** The publisher's context: parent of the consumer's span. */
  readonly parent: Context;
  readonly fields: LogFields;
}

/**
 * Parent context and log fields of a consumed message. Headers win; without a `traceparent`
 * header the payload is read as a relayed event and its metadata used instead.
 */
export function consumedMessageContext(headers: MsgHdrs | undefined, payload: () => unknown): ConsumedContext {
  const traceparent = headers?.get(TRACEPARENT_HEADER) ?? '';
  if (traceparent !== '') {
    const fields: LogFields = {};
    for (const [field, header] of logHeaders) {
      const value = headers?.get(header) ?? '';
      if (isValidCorrelationId(value)) fields[field] = value;
    }
    const tracestate = headers?.get(TRACESTATE_HEADER) ?? '';
    return { parent: contextFromTraceHeaders(tracestate === '' ? { traceparent } : { traceparent, tracestate }), fields };
  }
  let event: unknown;
  try {
    event = payload();
  } catch {
    event = undefined; // not JSON: the handler rejects it; its span simply has no parent
  }
  const record = isRecord(event) ? event : {};
  const metadata = isRecord(record['metadata']) ? record['metadata'] : undefined;
  return { parent: contextFromTraceHeaders(metadata), fields: logFieldsOfEvent(record) };
}

/** Span attributes of a NATS publish or delivery (OpenTelemetry messaging conventions). */
export function messagingAttributes(operation: 'send' | 'process', subject: string, extra: Attributes = {}): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': operation,
    'messaging.destination.name': subject,
    ...extra,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
