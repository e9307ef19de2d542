import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';

export { SpanKind, SpanStatusCode, context, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';

/** The tracer of Reach's own spans; a no-op one (nothing recorded) until tracing starts. */
export function reachTracer(): Tracer {
  return trace.getTracer('reach');
}

export interface SpanOptions {
  readonly kind: SpanKind;
  /** The parent: an extracted context (message headers, event metadata) or the active one. */
  readonly parent?: Context;
  readonly attributes?: Attributes;
}

/**
 * Runs `work` inside a new span that is active for everything it starts (awaits, timers), and
 * ends it when `work` settles. A throw marks the span as failed and is rethrown unchanged.
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = reachTracer().startSpan(name, { kind: options.kind, ...(options.attributes && { attributes: options.attributes }) }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

export function markFailed(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
