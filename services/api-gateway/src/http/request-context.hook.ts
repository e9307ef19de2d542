import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import {
  SpanKind,
  SpanStatusCode,
  context,
  contextFromTraceHeaders,
  markFailed,
  reachTracer,
  runWithLogFields,
  trace,
  type Context,
  type LogFields,
  type Span,
} from '@reach/telemetry';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id';

/** Probes and scrapes: no span (they would drown the traces), but a request id like any request. */
const UNTRACED_ROUTES: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);

interface RequestContext {
  readonly fields: LogFields;
  readonly ctx: Context;
  readonly span: Span | null;
}

const contexts = new WeakMap<FastifyRequest, RequestContext>();

/**
 * Gives every request a correlation id (`X-Request-Id`, see request-id.ts) and, when tracing is
 * on, a SERVER span whose parent is the client's `traceparent`. Guards, controllers and the
 * accept handler run inside both: the append puts the span's `traceparent` and the correlation
 * id into the events' metadata, and every log line carries them (plus the account and message,
 * added as they become known).
 *
 * Fastify reads the body between `onRequest` and `preHandler` on callbacks of the socket, outside
 * any async context we could enter, so the context is entered at each stage: `onRequest`,
 * `preHandler` (the handler runs synchronously from it) and `onResponse` (for the hooks after
 * this one, such as the request log line). Register it before the other hooks.
 */
export function registerRequestContext(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const correlationId = requestIdOf(request.headers[REQUEST_ID_HEADER]);
    void reply.header(REQUEST_ID_HEADER, correlationId);
    const route = request.routeOptions.url;
    const parent = contextFromTraceHeaders(request.headers);
    let span: Span | null = null;
    if (route === undefined || !UNTRACED_ROUTES.has(route)) {
      span = reachTracer().startSpan(
        route ? `${request.method} ${route}` : request.method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            [ATTR_HTTP_REQUEST_METHOD]: request.method,
            [ATTR_URL_PATH]: request.url.split('?', 1)[0] ?? request.url,
            ...(route && { [ATTR_HTTP_ROUTE]: route }),
            'reach.correlation_id': correlationId,
          },
        },
        parent,
      );
    }
    const state: RequestContext = { fields: { correlationId }, ctx: span ? trace.setSpan(parent, span) : parent, span };
    contexts.set(request, state);
    enter(state, done);
  });

  fastify.addHook('preHandler', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const state = contexts.get(request);
    if (state) enter(state, done);
    else done();
  });

  fastify.addHook('onError', (request: FastifyRequest, _reply: FastifyReply, error: Error, done: HookHandlerDoneFunction) => {
    const span = contexts.get(request)?.span;
    if (span) markFailed(span, error);
    done();
  });

  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const state = contexts.get(request);
    if (!state) return done();
    finish(state, reply.statusCode);
    enter(state, done);
  });

  // A client that goes away before the answer: the span still ends.
  fastify.addHook('onRequestAbort', (request: FastifyRequest, done: HookHandlerDoneFunction) => {
    const state = contexts.get(request);
    if (state) finish(state, null);
    done();
  });
}

function enter(state: RequestContext, next: () => void): void {
  context.with(state.ctx, () => runWithLogFields(state.fields, next));
}

function finish(state: RequestContext, statusCode: number | null): void {
  const { span } = state;
  if (!span || !span.isRecording()) return;
  if (statusCode !== null) {
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
    if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client aborted the request' });
  }
  span.end();
}
