import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { OPENAPI_DOCUMENT_PATH, swaggerUiDistDir } from './api-docs.content';
import { ApiDocsModule } from './api-docs.module';

/** The docs routes on Fastify, in memory (`inject`, no socket). */
describe('GET /openapi.json and /docs', () => {
  let app: NestFastifyApplication;
  const get = (url: string) => app.getHttpAdapter().getInstance().inject({ method: 'GET', url });

  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(ApiDocsModule, new FastifyAdapter(), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app.close();
  });

  it('resolves the document to the checked-in services/api-gateway/openapi.json', () => {
    expect(OPENAPI_DOCUMENT_PATH).toBe(path.resolve(__dirname, '../../openapi.json'));
    expect(path.basename(path.dirname(OPENAPI_DOCUMENT_PATH))).toBe('api-gateway');
  });

  it('serves the document byte for byte, as JSON', async () => {
    const response = await get('/openapi.json');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.rawPayload.equals(readFileSync(OPENAPI_DOCUMENT_PATH))).toBe(true);
  });

  it('serves a Swagger UI page whose every asset is served from swagger-ui-dist, none from elsewhere', async () => {
    const page = await get('/docs');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(7);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/docs\/[\w.-]+$/);
      const response = await get(asset);
      expect({ asset, status: response.statusCode }).toEqual({ asset, status: 200 });
      const name = asset.slice('/docs/'.length);
      if (name !== 'swagger-initializer.js') expect(response.rawPayload.equals(readFileSync(path.join(swaggerUiDistDir(), name)))).toBe(true);
    }
    expect((await get('/docs/swagger-ui-bundle.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/docs/swagger-ui.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('/docs/favicon-32x32.png')).headers['content-type']).toBe('image/png');
  });

  it('points Swagger UI at /openapi.json and at no online validator', async () => {
    const initializer = (await get('/docs/swagger-initializer.js')).body;
    expect(initializer).toContain('url: "/openapi.json"');
    expect(initializer).toContain('validatorUrl: null');
    expect(initializer).not.toContain('petstore');
  });

  it.each(['/docs/index.html', '/docs/package.json', '/docs/swagger-ui.js.map', '/docs/..%2Fpackage.json', '/docs/%2E%2E'])('answers 404 for %s', async (url) => {
    expect((await get(url)).statusCode).toBe(404);
  });
});
