import { Controller, Get, Header, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiDocsContent } from './api-docs.content';

/**
 * `GET /openapi.json` (the checked-in document, as is) and `GET /docs` (Swagger UI from
 * swagger-ui-dist, no CDN). Public: no dialect's authentication applies. An unknown file under
 * `/docs/` answers 404 like any unmatched route.
 */
@Controller()
export class ApiDocsHttpController {
  constructor(private readonly content: ApiDocsContent) {}

  @Get('openapi.json')
  @Header('Content-Type', 'application/json; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  document(): Buffer {
    return this.content.openApiDocument;
  }

  @Get('docs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return this.content.page;
  }

  @Get('docs/:file')
  file(@Param('file') name: string, @Res({ passthrough: true }) reply: FastifyReply): Buffer {
    const file = this.content.file(name);
    if (!file) throw new NotFoundException();
    void reply.header('Content-Type', file.contentType).header('Cache-Control', 'public, max-age=3600');
    return file.body;
  }
}
