import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { parsePrometheusText, sampleValue } from './prometheus-text';

describe('parsePrometheusText', () => {
  it('reads families with their type and help, and their samples with labels (escapes included)', () => {
    const families = parsePrometheusText(
      [
        '# HELP reach_things_total Things, with a \\\\ and a \\n in the help',
        '# TYPE reach_things_total counter',
        'reach_things_total{kind="a\\"b",path="x\\\\y"} 3',
        'reach_things_total{kind="line\\nbreak"} 1.5e2 1700000000000',
        '# a plain comment',
        '# TYPE reach_latency_seconds histogram',
        'reach_latency_seconds_bucket{le="0.1"} 1',
        'reach_latency_seconds_bucket{le="+Inf"} 2',
        'reach_latency_seconds_sum 0.35',
        'reach_latency_seconds_count 2',
        'no_type_here +Inf',
        '# TYPE reach_lag gauge',
        'reach_lag{q="a"} Nan',
        'reach_lag{q="b"} -inf',
        '',
      ].join('\n'),
    );
    expect([...families.keys()]).toEqual(['reach_things_total', 'reach_latency_seconds', 'no_type_here', 'reach_lag']);
    expect(families.get('reach_things_total')).toEqual({
      name: 'reach_things_total',
      type: 'counter',
      help: 'Things, with a \\ and a \n in the help',
      samples: [
        { name: 'reach_things_total', labels: { kind: 'a"b', path: 'x\\y' }, value: 3 },
        { name: 'reach_things_total', labels: { kind: 'line\nbreak' }, value: 150 },
      ],
    });
    expect(families.get('reach_latency_seconds')?.samples.map((s) => s.name)).toEqual([
      'reach_latency_seconds_bucket',
      'reach_latency_seconds_bucket',
      'reach_latency_seconds_sum',
      'reach_latency_seconds_count',
    ]);
    expect(families.get('no_type_here')).toMatchObject({ type: 'untyped', samples: [{ value: Infinity }] });
    // Prometheus reads special values in any case, and prom-client writes NaN as `Nan`.
    expect(families.get('reach_lag')?.samples.map((s) => s.value)).toEqual([NaN, -Infinity]);
  });

  it('refuses what is not the format, naming the line', () => {
    expect(() => parsePrometheusText('<html>oops</html>')).toThrow(/line 1/);
    expect(() => parsePrometheusText('# TYPE x countr\nx 1')).toThrow(/unknown type/);
    expect(() => parsePrometheusText('x{a="1" 1')).toThrow(/line 1/);
    expect(() => parsePrometheusText('x{a=1} 1')).toThrow(/quoted value/);
    expect(() => parsePrometheusText('x twelve')).toThrow(/not a sample value/);
    expect(() => parsePrometheusText('ok 1\nx{a="1",a="2"} 1')).toThrow(/line 2.*twice/);
  });

  it('reads what prom-client writes', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'c_total', help: 'c', labelNames: ['route'], registers: [registry] });
    const gauge = new Gauge({ name: 'g', help: 'g', registers: [registry] });
    const histogram = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['from'], buckets: [0.1, 1], registers: [registry] });
    counter.inc({ route: '/v1/sms/:id' }, 2);
    counter.inc({ route: 'unmatched' });
    gauge.set(-4.25);
    histogram.observe({ from: 'queued' }, 0.5);
    histogram.observe({ from: 'queued' }, 5);

    const families = parsePrometheusText(await registry.metrics());
    expect(families.get('h_seconds')?.type).toBe('histogram');
    expect(sampleValue(families, 'c_total', { route: '/v1/sms/:id' })).toBe(2);
    expect(sampleValue(families, 'c_total')).toBe(3);
    expect(sampleValue(families, 'g')).toBe(-4.25);
    expect(sampleValue(families, 'h_seconds_count', { from: 'queued' })).toBe(2);
    expect(sampleValue(families, 'h_seconds_bucket', { from: 'queued', le: '1' })).toBe(1);
    expect(sampleValue(families, 'h_seconds_count', { from: 'sent' })).toBeUndefined();
  });
});
