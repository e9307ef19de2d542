import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { contextualLogFields, runDetached, runWithLogFields } from './log-context';
import { SpanKind, inSpan } from './spans';
import { activeTraceparent, contextFromTraceparent, traceHeadersOf } from './trace-context';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => provider.register());
afterEach(() => exporter.reset());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

describe('spans with a registered provider', () => {
  it('parents a span on an extracted context and keeps it active across awaits and timers', async () => {
    const seen = await inSpan('process', { kind: SpanKind.CONSUMER, parent: contextFromTraceparent(`00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`) }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return activeTraceparent();
    });
    const [span] = exporter.getFinishedSpans();
    expect(span?.spanContext().traceId).toBe(CLIENT_TRACE);
    expect(span?.parentSpanContext?.spanId).toBe(CLIENT_SPAN);
    expect(span?.kind).toBe(SpanKind.CONSUMER);
    expect(seen).toBe(`00-${CLIENT_TRACE}-${span?.spanContext().spanId}-01`);
  });

  it('marks the span failed and rethrows when the work throws', async () => {
    await expect(inSpan('boom', { kind: SpanKind.INTERNAL }, async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toMatchObject({ code: 2, message: 'no' });
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('gives log lines the active trace and span ids next to the log context, and none when detached', async () => {
    await runWithLogFields({ correlationId: 'req-9' }, () =>
      inSpan('work', { kind: SpanKind.INTERNAL }, async (span) => {
        const { traceId, spanId } = span.spanContext();
        expect(contextualLogFields()).toEqual({ correlationId: 'req-9', traceId, spanId });
        expect(traceHeadersOf().traceparent).toBe(`00-${traceId}-${spanId}-01`);
        runDetached(() => expect(contextualLogFields()).toEqual({}));
      }),
    );
  });
});
