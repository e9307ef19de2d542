import 'reflect-metadata';
import { Catch, Module, type ArgumentsHost, type ExceptionFilter, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { HealthModule, Readiness } from './health';

/** Answers every error the way a dialect's catch-all filter does: with its own body. */
@Catch()
class DialectErrorFilter implements ExceptionFilter {
  catch(_error: unknown, host: ArgumentsHost): void {
    void host.switchToHttp().getResponse<FastifyReply>().status(500).send({ success: false, error: { code: 'internal_error' } });
  }
}

let postgresUp = true;

@Module({})
class ChecksModule implements OnModuleInit {
  constructor(private readonly readiness: Readiness) {}

  onModuleInit(): void {
    this.readiness.register({ name: 'postgres', check: async () => (postgresUp ? undefined : Promise.reject(new Error('connection refused'))) });
    this.readiness.register({ name: 'nats', check: async () => undefined });
  }
}

@Module({ imports: [HealthModule.forRoot(), ChecksModule] })
class TestModule {}

describe('GET /ready (Nest on Fastify, in memory, behind a catch-all error filter)', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(TestModule, new FastifyAdapter(), { logger: false });
    app.useGlobalFilters(new DialectErrorFilter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers 200 with every check when all pass', async () => {
    postgresUp = true;
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', nats: 'ok' } });
  });

  it('answers 503 with the per-check report, which no error filter rewrites', async () => {
    postgresUp = false;
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ status: 'not_ready', checks: { postgres: 'connection refused', nats: 'ok' } });
  });
});
