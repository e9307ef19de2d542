import type { Logger } from 'pino';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVER_ADDRESS } from '@opentelemetry/semantic-conventions';
import {
  SpanKind,
  SpanStatusCode,
  contextFromTraceparent,
  inSpan,
  runWithLogFields,
  trace,
  traceHeadersOf,
  type Attributes,
  type LogFields,
} from '@reach/telemetry';
import type { ClaimedDelivery } from '@reach/webhooks';

/**
 * Runs one delivery attempt as a CLIENT span whose parent is the context the delivery was planned
 * in (the outbox's `trace_parent`: the planner's consumer span), with the delivery's log fields
 * bound. Inside, `attemptTraceHeaders()` gives the `traceparent` the request carries to the
 * receiver, so a traced receiver joins the message's trace. Attributes leave out the URL's path
 * and query, which may hold the receiver's own tokens.
 */
export function traceDeliveryAttempt(delivery: ClaimedDelivery, logger: Logger, attempt: () => Promise<boolean>): Promise<boolean> {
  const fields: LogFields = { deliveryId: delivery.id, accountId: delivery.accountId };
  if (delivery.messageId !== null) fields.messageId = delivery.messageId;
  if (delivery.correlationId) fields.correlationId = delivery.correlationId;
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: 'POST',
    'http.request.resend_count': delivery.attempt - 1,
    'reach.delivery.id': delivery.id,
    'reach.delivery.kind': delivery.kind,
    'reach.delivery.event_type': delivery.eventType,
  };
  const host = hostOf(delivery.url);
  if (host !== null) attributes[ATTR_SERVER_ADDRESS] = host;
  return runWithLogFields(fields, () =>
    inSpan('POST', { kind: SpanKind.CLIENT, parent: contextFromTraceparent(delivery.traceParent), attributes }, async (span) => {
      const succeeded = await attempt();
      if (!succeeded) span.setStatus({ code: SpanStatusCode.ERROR, message: 'the endpoint did not take the delivery' });
      logger.debug({ attempt: delivery.attempt, kind: delivery.kind, eventType: delivery.eventType, succeeded }, 'delivery attempt finished');
      return succeeded;
    }),
  );
}

/** The trace headers of the attempt's span, for the outbound request (empty when tracing is off). */
export function attemptTraceHeaders(): Record<string, string> {
  return { ...traceHeadersOf() };
}

/** Records the receiver's answer on the attempt's span. */
export function recordAttemptStatus(status: number): void {
  trace.getActiveSpan()?.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}
