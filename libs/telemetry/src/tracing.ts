import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { loadTracingConfig } from './config';

export interface Tracing {
  readonly enabled: boolean;
  readonly serviceName: string;
  /** Exports what is still buffered and stops tracing; bounded, so a dead collector cannot hold up an exit. */
  shutdown(): Promise<void>;
}

interface StartupLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

const SHUTDOWN_BUDGET_MS = 5_000;

let started: Tracing | null = null;

/**
 * Starts tracing for this process when the `OTEL_*` variables ask for it (see config.ts):
 * a NodeTracerProvider whose spans go through a BatchSpanProcessor to the OTLP/HTTP (JSON)
 * exporter, AsyncLocalStorage as the context manager (so the active span follows async work)
 * and the W3C trace-context propagator. Otherwise nothing is registered and every span is a
 * no-op. Call once per process, early; later calls return the first result.
 */
export function startTracing(service: string, log?: StartupLog): Tracing {
  if (started) return started;
  const config = loadTracingConfig(service);
  for (const warning of config.warnings) log?.warn({ tracing: true }, warning);
  if (!config.enabled) {
    started = { enabled: false, serviceName: config.serviceName, shutdown: async () => undefined };
    return started;
  }
  // The env detector adds OTEL_RESOURCE_ATTRIBUTES (and OTEL_SERVICE_NAME, which config agrees with).
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    // Endpoint, headers, timeout (OTEL_EXPORTER_OTLP_*) and batching (OTEL_BSP_*) come from the SDK's own env reading.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  log?.info({ serviceName: config.serviceName }, 'tracing on: spans are exported over OTLP/HTTP');
  let stopping: Promise<void> | null = null;
  started = {
    enabled: true,
    serviceName: config.serviceName,
    shutdown: () =>
      (stopping ??= Promise.race([
        provider.shutdown().catch((error: unknown) => log?.warn({ err: error }, 'could not export the last spans')),
        new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_BUDGET_MS).unref()),
      ])),
  };
  return started;
}
