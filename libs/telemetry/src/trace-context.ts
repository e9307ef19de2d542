import { ROOT_CONTEXT, context, trace, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * W3C trace context (`traceparent`, `tracestate`) in and out of the carriers a message passes
 * through: HTTP headers, event metadata, NATS headers and the outbox's `trace_parent` column. The
 * propagator is used directly rather than through the global API, so these helpers behave the
 * same whether or not tracing was started (without it no span is ever active, so nothing is
 * injected and extracted contexts only parent spans that are never recorded).
 */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

const propagator = new W3CTraceContextPropagator();

const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** Reads keys case-insensitively as HTTP headers are, and the first value of a repeated header. */
const recordGetter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    let value = carrier[key];
    if (value === undefined) {
      const name = Object.keys(carrier).find((candidate) => candidate.toLowerCase() === key);
      value = name === undefined ? undefined : carrier[name];
    }
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    return undefined;
  },
};

/** `traceparent` (and `tracestate` when there is one) of the span active in `ctx`; empty when none is. */
export function traceHeadersOf(ctx: Context = context.active()): TraceHeaders {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, recordSetter);
  const headers: TraceHeaders = {};
  if (carrier['traceparent'] !== undefined) headers.traceparent = carrier['traceparent'];
  if (carrier['tracestate'] !== undefined) headers.tracestate = carrier['tracestate'];
  return headers;
}

/**
 * The context a carrier (HTTP headers, event metadata) names as the parent, on top of `base`.
 * A missing or malformed `traceparent` yields `base` unchanged: the next span starts a new trace.
 */
export function contextFromTraceHeaders(carrier: Readonly<Record<string, unknown>> | null | undefined, base: Context = ROOT_CONTEXT): Context {
  if (!carrier) return base;
  return propagator.extract(base, carrier, recordGetter);
}

/** The parent context stored as a bare `traceparent` string (the outbox column), or `base`. */
export function contextFromTraceparent(traceparent: string | null | undefined, base: Context = ROOT_CONTEXT): Context {
  return traceparent ? contextFromTraceHeaders({ traceparent }, base) : base;
}

/** The `traceparent` of the span active now, or null (no span, or tracing off). */
export function activeTraceparent(): string | null {
  return traceHeadersOf().traceparent ?? null;
}

/** Trace and span id of the span active in `ctx`, when there is a valid one. */
export function traceIdsOf(ctx: Context = context.active()): { traceId: string; spanId: string } | null {
  const spanContext = trace.getSpanContext(ctx);
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return null;
  return { traceId: spanContext.traceId, spanId: spanContext.spanId };
}
