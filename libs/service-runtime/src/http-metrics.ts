import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import type { Metrics } from './health';

/** The route label of requests no route matched (404s of unknown paths). */
export const UNMATCHED_ROUTE = 'unmatched';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route label: the route's template as registered (`/v1/sms/:id`), never the raw URL, so a
 * label value exists per route and not per message id or query string.
 */
export function httpRouteLabel(routeTemplate: string | undefined): string {
  return routeTemplate ? routeTemplate : UNMATCHED_ROUTE;
}

/** Known methods as they are; anything else (a client's invention) shares one label value. */
export function httpMethodLabel(method: string): string {
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : 'OTHER';
}

/**
 * Counts and times every request the Fastify instance answers: `reach_http_requests_total{method,
 * route, status_code}` and `reach_http_request_duration_seconds{method, route}`. It hooks
 * `onResponse`, which runs for every reply sent — from a controller, a guard, an exception filter
 * or the not-found handler — so 4xx and 5xx answers are counted like any other. Register it before
 * the app listens (Nest: in `configure`).
 */
export function registerHttpMetrics(fastify: FastifyInstance, metrics: Metrics): void {
  const registers = [metrics.registry];
  const requests = new Counter({
    name: 'reach_http_requests_total',
    help: 'HTTP requests answered, by method, route template (unmatched: no route) and status code',
    labelNames: ['method', 'route', 'status_code'],
    registers,
  });
  const duration = new Histogram({
    name: 'reach_http_request_duration_seconds',
    help: 'Time from receiving a request to having sent its answer, by method and route template',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const method = httpMethodLabel(request.method);
    const route = httpRouteLabel(request.routeOptions.url);
    requests.inc({ method, route, status_code: String(reply.statusCode) });
    duration.observe({ method, route }, reply.elapsedTime / 1000);
  });
}
