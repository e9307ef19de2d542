import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { isReachPath } from './request-body';

/**
 * The global filter (unmatched routes, errors outside a controller's own filter): the path says
 * the dialect, so anything under `/rest/` answers in the Reach body and the rest in ReachCell's.
 */
@Catch()
export class DialectErrorFilter implements ExceptionFilter {
  constructor(
    private readonly reach: ExceptionFilter,
    private readonly reachCell: ExceptionFilter,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    (isReachPath(request.url) ? this.reach : this.reachCell).catch(exception, host);
  }
}
