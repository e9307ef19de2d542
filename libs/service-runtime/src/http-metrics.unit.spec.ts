import 'reflect-metadata';
import { Catch, Controller, Get, HttpException, Module, Param, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Metrics } from './health';
import { UNMATCHED_ROUTE, httpMethodLabel, httpRouteLabel, registerHttpMetrics } from './http-metrics';

describe('httpRouteLabel', () => {
  it('is the route template, or "unmatched" when no route matched', () => {
    expect(httpRouteLabel('/v1/sms/:id')).toBe('/v1/sms/:id');
    expect(httpRouteLabel(undefined)).toBe(UNMATCHED_ROUTE);
    expect(httpRouteLabel('')).toBe(UNMATCHED_ROUTE);
  });
});

describe('httpMethodLabel', () => {
  it('keeps known methods and folds the rest into OTHER', () => {
    expect(httpMethodLabel('get')).toBe('GET');
    expect(httpMethodLabel('DELETE')).toBe('DELETE');
    expect(httpMethodLabel('PROPFIND')).toBe('OTHER');
  });
});

class Teapot extends Error {}

/** Answers like a dialect's error filter does: its own status and body. */
@Catch(Teapot)
class TeapotFilter implements ExceptionFilter {
  catch(_error: Teapot, host: ArgumentsHost): void {
    void host.switchToHttp().getResponse<FastifyReply>().status(418).send({ error: 'teapot' });
  }
}

@Controller('v1/sms')
class SmsController {
  @Get(':id')
  get(@Param('id') id: string) {
    if (id === 'missing') throw new HttpException('not found', 404);
    if (id === 'teapot') throw new Teapot();
    if (id === 'boom') throw new Error('boom');
    return { id };
  }
}

@Module({ controllers: [SmsController] })
class TestModule {}

describe('registerHttpMetrics (Nest on Fastify, in memory)', () => {
  let app: NestFastifyApplication;
  let metrics: Metrics;

  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(TestModule, new FastifyAdapter(), { logger: false });
    metrics = new Metrics();
    registerHttpMetrics(app.getHttpAdapter().getInstance() as unknown as FastifyInstance, metrics);
    app.useGlobalFilters(new TeapotFilter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app.close();
  });

  async function requestCount(labels: Record<string, string>): Promise<number> {
    const metric = await metrics.registry.getSingleMetric('reach_http_requests_total')!.get();
    const found = metric.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
    return found?.value ?? 0;
  }

  it('labels each answer by method, route template and status code — also errors answered by filters, and unmatched routes', async () => {
    const fastify = app.getHttpAdapter().getInstance();
    const answers = await Promise.all(
      ['/v1/sms/1?x=y', '/v1/sms/2', '/v1/sms/missing', '/v1/sms/teapot', '/v1/sms/boom', '/nowhere/3'].map((url) =>
        fastify.inject({ method: 'GET', url }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 404, 418, 500, 404]);

    expect(await requestCount({ method: 'GET', route: '/v1/sms/:id', status_code: '200' })).toBe(2);
    expect(await requestCount({ method: 'GET', route: '/v1/sms/:id', status_code: '404' })).toBe(1);
    expect(await requestCount({ method: 'GET', route: '/v1/sms/:id', status_code: '418' })).toBe(1);
    expect(await requestCount({ method: 'GET', route: '/v1/sms/:id', status_code: '500' })).toBe(1);
    expect(await requestCount({ method: 'GET', route: UNMATCHED_ROUTE, status_code: '404' })).toBe(1);

    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE reach_http_request_duration_seconds histogram');
    expect(text).toMatch(/reach_http_request_duration_seconds_count\{method="GET",route="\/v1\/sms\/:id"\} 5/);
    // Raw URLs and ids never become label values.
    expect(text).not.toContain('/v1/sms/1');
    expect(text).not.toContain('nowhere');
  });
});
