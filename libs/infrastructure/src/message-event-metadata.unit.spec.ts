import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { SpanKind, inSpan, runWithLogFields } from '@reach/telemetry';
import { messageEventMetadata } from './message-event-metadata';

const provider = new NodeTracerProvider();
beforeAll(() => provider.register());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const ref = { messageId: 'm-1', accountId: 'a-1' };

describe('messageEventMetadata (what each appended event carries onward)', () => {
  it('without a context: the message id stands in for the correlation id, no trace', () => {
    expect(messageEventMetadata(ref)).toEqual({ correlationId: 'm-1', messageId: 'm-1', accountId: 'a-1' });
  });

  it("takes the request's correlation id and the active span's traceparent", async () => {
    await runWithLogFields({ correlationId: 'req-1', messageId: 'm-1' }, () =>
      inSpan('append', { kind: SpanKind.INTERNAL }, async (span) => {
        const { traceId, spanId } = span.spanContext();
        expect(messageEventMetadata(ref)).toEqual({
          correlationId: 'req-1',
          messageId: 'm-1',
          accountId: 'a-1',
          traceparent: `00-${traceId}-${spanId}-01`,
        });
      }),
    );
  });

  it("does not lend another message's context to this one", async () => {
    await runWithLogFields({ correlationId: 'req-2', messageId: 'other' }, () =>
      inSpan('append', { kind: SpanKind.INTERNAL }, async () => {
        expect(messageEventMetadata(ref)).toEqual({ correlationId: 'm-1', messageId: 'm-1', accountId: 'a-1' });
      }),
    );
  });
});
