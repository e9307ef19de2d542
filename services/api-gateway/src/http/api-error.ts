import { MAX_WEBHOOKS_PER_ACCOUNT, type WebhooksError } from '@reach/webhooks';

/**
 * An error meant for the client. `code` is stable; each dialect's filter maps it to its own body.
 * `reachCode` is the Reach dialect's numeric errorCode where one applies.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | null = null,
    readonly reachCode: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const apiErrors = {
  malformedJson: () => new ApiError(400, 'invalid_json', 'The request body is not valid JSON'),
  unsupportedMediaType: (type: string) =>
    new ApiError(415, 'unsupported_media_type', `Content-Type ${type} is not supported; send application/json`),
  unauthorized: (message = 'Missing or invalid API key') => new ApiError(401, 'unauthorized', message),
  suspended: () => new ApiError(403, 'account_suspended', 'This account is suspended'),
  notFound: (what = 'Message') => new ApiError(404, 'not_found', `${what} not found`),
  routeNotFound: (method: string, path: string) => new ApiError(404, 'not_found', `No route ${method} ${path}`),
  payloadTooLarge: () => new ApiError(413, 'payload_too_large', 'The request body is too large'),
};

/**
 * The webhook registry's and outbox's refusals in the ReachCell body. Another account's webhook or
 * delivery reads exactly like an unknown one (the lib's message, which names the id, is dropped).
 */
export function webhooksApiError(error: WebhooksError): ApiError {
  switch (error.code) {
    case 'WEBHOOK_NOT_FOUND':
      return apiErrors.notFound('Webhook');
    case 'DELIVERY_NOT_FOUND':
      return apiErrors.notFound('Delivery');
    case 'DELIVERY_IN_FLIGHT':
      return new ApiError(409, 'delivery_in_flight', 'This delivery is being attempted right now; redeliver it once the attempt has finished');
    case 'TOO_MANY_WEBHOOKS':
      return new ApiError(
        422,
        'webhook_limit_reached',
        `This account already has the maximum of ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks; delete one before adding another`,
      );
    default: {
      const unreachable: never = error.code;
      throw new Error(`unmapped webhooks error ${String(unreachable)}`);
    }
  }
}
