import { Module } from '@nestjs/common';
import { ApiDocsContent } from './api-docs.content';
import { ApiDocsHttpController } from './api-docs.http.controller';

/** The API reference: `/openapi.json` and its Swagger UI under `/docs`, read from disk once at start. */
@Module({
  controllers: [ApiDocsHttpController],
  providers: [{ provide: ApiDocsContent, useFactory: () => ApiDocsContent.load() }],
})
export class ApiDocsModule {}
