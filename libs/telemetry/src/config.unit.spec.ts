import { loadTracingConfig } from './config';

describe('loadTracingConfig (standard OTEL_* variables only)', () => {
  it('is off by default', () => {
    expect(loadTracingConfig('dispatcher', {})).toEqual({ enabled: false, serviceName: 'dispatcher', warnings: [] });
  });

  it('is on with an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp', () => {
    expect(loadTracingConfig('gw', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).enabled).toBe(true);
    expect(loadTracingConfig('gw', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces' }).enabled).toBe(true);
    expect(loadTracingConfig('gw', { OTEL_TRACES_EXPORTER: 'otlp' }).enabled).toBe(true);
  });

  it('is off when the exporter is none, another exporter, or the SDK is disabled', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(loadTracingConfig('gw', { ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).enabled).toBe(false);
    expect(loadTracingConfig('gw', { ...endpoint, OTEL_SDK_DISABLED: 'TRUE' }).enabled).toBe(false);
    const zipkin = loadTracingConfig('gw', { ...endpoint, OTEL_TRACES_EXPORTER: 'zipkin' });
    expect(zipkin.enabled).toBe(false);
    expect(zipkin.warnings).toEqual(['OTEL_TRACES_EXPORTER: only "otlp" is supported; ignoring zipkin']);
  });

  it('takes OTEL_SERVICE_NAME over the service name', () => {
    expect(loadTracingConfig('gw', { OTEL_SERVICE_NAME: ' reach-gw ' }).serviceName).toBe('reach-gw');
  });

  it('warns about settings it cannot honour', () => {
    const config = loadTracingConfig('gw', {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'jaeger_remote',
    });
    expect(config.enabled).toBe(true);
    expect(config.warnings).toHaveLength(2);
    expect(loadTracingConfig('gw', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' }).warnings).toEqual([]);
  });
});
