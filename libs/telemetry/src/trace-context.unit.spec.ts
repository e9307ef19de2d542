import { ROOT_CONTEXT, TraceFlags, trace, type SpanContext } from '@opentelemetry/api';
import { activeTraceparent, contextFromTraceHeaders, contextFromTraceparent, traceHeadersOf, traceIdsOf } from './trace-context';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

function contextWith(spanContext: SpanContext) {
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

describe('trace context helpers (W3C traceparent in and out of carriers)', () => {
  it('writes the traceparent of the span in a context, and nothing for a context without one', () => {
    const ctx = contextWith({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
    expect(traceHeadersOf(ctx)).toEqual({ traceparent: TRACEPARENT });
    expect(traceHeadersOf(ROOT_CONTEXT)).toEqual({});
  });

  it('round-trips traceparent and tracestate through a plain carrier (event metadata)', () => {
    const extracted = contextFromTraceHeaders({ traceparent: TRACEPARENT, tracestate: 'vendor=abc', correlationId: 'x' });
    expect(trace.getSpanContext(extracted)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(traceHeadersOf(extracted)).toEqual({ traceparent: TRACEPARENT, tracestate: 'vendor=abc' });
    expect(traceIdsOf(extracted)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID });
  });

  it('reads HTTP-style headers: case-insensitive names, the first of repeated values', () => {
    expect(trace.getSpanContext(contextFromTraceHeaders({ Traceparent: TRACEPARENT }))?.traceId).toBe(TRACE_ID);
    expect(trace.getSpanContext(contextFromTraceHeaders({ traceparent: [TRACEPARENT, 'junk'] }))?.spanId).toBe(SPAN_ID);
  });

  it('keeps the base context when the carrier has no usable traceparent: the next span starts a new trace', () => {
    for (const carrier of [undefined, null, {}, { traceparent: 'garbage' }, { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` }, { traceparent: 42 }]) {
      expect(contextFromTraceHeaders(carrier as Record<string, unknown> | undefined)).toBe(ROOT_CONTEXT);
    }
    expect(contextFromTraceparent(null)).toBe(ROOT_CONTEXT);
    expect(trace.getSpanContext(contextFromTraceparent(TRACEPARENT))?.traceId).toBe(TRACE_ID);
  });

  it('finds no active trace while tracing is not started', () => {
    expect(activeTraceparent()).toBeNull();
    expect(traceIdsOf()).toBeNull();
  });
});
