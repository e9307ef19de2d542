export type WebhooksErrorCode = 'WEBHOOK_NOT_FOUND' | 'DELIVERY_NOT_FOUND' | 'DELIVERY_IN_FLIGHT' | 'TOO_MANY_WEBHOOKS';

/** A refusal with a stable code, mapped to each dialect's error body at the edge. */
export class WebhooksError extends Error {
  override readonly name = 'WebhooksError';

  constructor(
    readonly code: WebhooksErrorCode,
    message: string,
  ) {
    super(message);
  }
}
