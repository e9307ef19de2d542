/**
 * Whether tracing runs, and under which service name, from the standard OpenTelemetry variables
 * only (no Reach-specific switch). Tracing is off unless `OTEL_TRACES_EXPORTER` names `otlp` or
 * an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`);
 * `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true` turn it off.
 *
 * Only the decision is read here. The OpenTelemetry SDK reads the rest of its `OTEL_*` variables
 * itself (endpoint, headers and timeout of the exporter, `OTEL_BSP_*` batching,
 * `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_RESOURCE_ATTRIBUTES`): the one accepted exception to
 * "process.env is read in config.ts only", since those variables are the SDK's documented interface.
 */
export interface TracingConfig {
  readonly enabled: boolean;
  /** `OTEL_SERVICE_NAME` when set, else the service's own name. */
  readonly serviceName: string;
  /** Settings that were ignored or replaced, to be logged once at start. */
  readonly warnings: readonly string[];
}

/** Samplers the SDK builds from `OTEL_TRACES_SAMPLER` (anything else falls back to parentbased_always_on). */
const SIMPLE_SAMPLERS = new Set([
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
]);

/** Only OTLP over HTTP with JSON bodies is built in. */
const SUPPORTED_PROTOCOLS = new Set(['http/json']);

export function loadTracingConfig(service: string, env: NodeJS.ProcessEnv = process.env): Readonly<TracingConfig> {
  const warnings: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const serviceName = text('OTEL_SERVICE_NAME') ?? service;
  const exporters = (text('OTEL_TRACES_EXPORTER') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const endpoint = text('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? text('OTEL_EXPORTER_OTLP_ENDPOINT');

  let enabled: boolean;
  if (text('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') enabled = false;
  else if (exporters.includes('none')) enabled = false;
  else if (exporters.length > 0) {
    enabled = exporters.includes('otlp');
    const unsupported = exporters.filter((name) => name !== 'otlp');
    if (unsupported.length > 0) warnings.push(`OTEL_TRACES_EXPORTER: only "otlp" is supported; ignoring ${unsupported.join(', ')}`);
  } else enabled = endpoint !== undefined;

  if (enabled) {
    const protocol = text('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? text('OTEL_EXPORTER_OTLP_PROTOCOL');
    if (protocol !== undefined && !SUPPORTED_PROTOCOLS.has(protocol.toLowerCase())) {
      warnings.push(`OTLP protocol "${protocol}" is not supported; traces are sent as http/json`);
    }
    const sampler = text('OTEL_TRACES_SAMPLER');
    if (sampler !== undefined && !SIMPLE_SAMPLERS.has(sampler)) {
      warnings.push(`OTEL_TRACES_SAMPLER "${sampler}" is not supported; using parentbased_always_on`);
    }
  }
  return Object.freeze({ enabled, serviceName, warnings: Object.freeze(warnings) });
}
