import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { LOGGER } from '@reach/infrastructure';
import { reachErrorCodes, type ReachError } from '@reach/message-domain';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import { toApiError } from '../reachcell/reachcell-error.filter';

/** The Reach dialect's error body (PRODUCT.md §2). */
export interface ReachErrorBody {
  status: number;
  errorCode: number;
  errorMessage: string;
  errorDetails: Record<string, unknown> | null;
  more_info: string;
}

/** A validation result's error as an ApiError, so it leaves through the filter like any other. */
export function reachApiError(error: ReachError): ApiError {
  return new ApiError(error.status, `reach_${error.errorCode}`, error.errorMessage, error.errorDetails ? { ...error.errorDetails } : null, error.errorCode);
}

/**
 * The errorCode of an error that carries none (an unmatched route, a body too large, an error
 * raised outside the Reach use cases): the closest documented code for its HTTP status.
 */
export function reachCodeForStatus(status: number): number {
  switch (status) {
    case 401:
      return reachErrorCodes.badCredentials.code;
    case 403:
      return reachErrorCodes.appletDeactivated.code;
    case 404:
      return reachErrorCodes.notFound.code;
    case 406:
      return reachErrorCodes.notAcceptable.code;
    case 429:
      return reachErrorCodes.tooManyRequests.code;
    default:
      return status < 500 ? reachErrorCodes.missingRequestData.code : reachErrorCodes.internalError.code;
  }
}

export function reachErrorBody(error: ApiError, docsUrl: string): ReachErrorBody {
  const errorCode = error.reachCode ?? reachCodeForStatus(error.status);
  return {
    status: error.status,
    errorCode,
    errorMessage: error.message,
    errorDetails: error.details,
    more_info: `${docsUrl}${errorCode}`,
  };
}

/** Every error on a Reach route leaves as `{status, errorCode, errorMessage, errorDetails, more_info}`. */
@Catch()
export class ReachErrorFilter implements ExceptionFilter {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(GATEWAY_CONFIG) private readonly config: Pick<GatewayConfig, 'REACH_ERROR_DOCS_URL'>,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const error = toApiError(exception, request);
    if (error.status >= 500) this.logger.error({ err: exception, url: request.url }, 'request failed');
    if (error.status === 429 && error.details?.['retryAfterSeconds']) reply.header('Retry-After', String(error.details['retryAfterSeconds']));
    void reply.status(error.status).send(reachErrorBody(error, this.config.REACH_ERROR_DOCS_URL));
  }
}
