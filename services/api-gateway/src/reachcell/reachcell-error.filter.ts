import { Catch, HttpException, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { LOGGER } from '@reach/infrastructure';
import { WebhooksError } from '@reach/webhooks';
import { ApiError, apiErrors, webhooksApiError } from '../http/api-error';

/** Every error on a ReachCell route leaves as `{success:false, error:{code, message}}` with its HTTP status. */
@Catch()
export class ReachCellErrorFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const error = toApiError(exception, request);
    if (error.status >= 500) this.logger.error({ err: exception, url: request.url }, 'request failed');
    const body: { success: false; error: { code: string; message: string; details?: unknown } } = {
      success: false,
      error: { code: error.code, message: error.message },
    };
    if (error.details) body.error.details = error.details;
    if (error.status === 429 && error.details?.['retryAfterSeconds']) reply.header('Retry-After', String(error.details['retryAfterSeconds']));
    void reply.status(error.status).send(body);
  }
}

export function toApiError(exception: unknown, request: FastifyRequest): ApiError {
  if (exception instanceof ApiError) return exception;
  if (exception instanceof WebhooksError) return webhooksApiError(exception);
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return apiErrors.routeNotFound(request.method, request.url.split('?')[0] ?? request.url);
    if (status === 413) return apiErrors.payloadTooLarge();
    return new ApiError(status, status < 500 ? 'bad_request' : 'internal_error', exception.message);
  }
  const statusCode = (exception as { statusCode?: number }).statusCode;
  if (statusCode === 413) return apiErrors.payloadTooLarge();
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new ApiError(statusCode, 'bad_request', exception instanceof Error ? exception.message : 'Bad request');
  }
  return new ApiError(500, 'internal_error', 'Something went wrong on our side; the request may be retried');
}
