import { randomUUID } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { SpanKind, inSpan, runWithLogFields } from '@reach/telemetry';
import { claimDueDeliveries, insertPlannedDeliveries } from './deliveries.repository';
import { deliveryIdFor, STATUS_CALLBACK_TARGET } from './delivery-id';
import { FORM_CONTENT_TYPE, type PlannedDelivery } from './planned-delivery';

/**
 * The outbox remembers the trace and correlation id a delivery was planned in, so its attempts
 * (possibly hours later, in another process) continue the message's trace.
 */
let database: TestDatabase;
const provider = new NodeTracerProvider();

beforeAll(async () => {
  provider.register();
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

function planned(): PlannedDelivery {
  const eventId = randomUUID();
  return {
    id: deliveryIdFor(eventId, STATUS_CALLBACK_TARGET),
    accountId: randomUUID(),
    kind: 'status_callback',
    webhookId: null,
    messageId: randomUUID(),
    eventId,
    eventType: 'delivered',
    url: 'https://hooks.example.com/cb',
    endpointKey: `origin:${eventId}`,
    orderingKey: `callback:${eventId}`,
    sequence: 0n,
    contentType: FORM_CONTENT_TYPE,
    payload: 'status=delivered',
  };
}

describe('outbox trace context', () => {
  it("stores the planner's traceparent and correlation id, and hands them to the claim", async () => {
    const now = new Date();
    const inTrace = planned();
    const outside = planned();
    const traceparent = await runWithLogFields({ correlationId: 'req-77', messageId: inTrace.messageId! }, () =>
      inSpan('plan', { kind: SpanKind.CONSUMER }, async (span) => {
        await insertPlannedDeliveries(database.db, [inTrace], now);
        return `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
      }),
    );
    await insertPlannedDeliveries(database.db, [outside], now);

    const claimed = await claimDueDeliveries(database.db, { limit: 10, now, leaseMs: 30_000, excludeEndpoints: [], perEndpointLimit: 10 });
    expect(claimed.find((c) => c.id === inTrace.id)).toMatchObject({ traceParent: traceparent, correlationId: 'req-77' });
    expect(claimed.find((c) => c.id === outside.id)).toMatchObject({ traceParent: null, correlationId: null });
  });
});
