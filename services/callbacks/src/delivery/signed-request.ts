import { reachCellSignatureWithKey, reachSignature } from '@reach/webhook-signatures';
import type { ClaimedDelivery } from '@reach/webhooks';

/** What signs a delivery: the account's API key (status callbacks) or the webhook's signing key. */
export type SigningMaterial =
  | { readonly kind: 'status_callback'; readonly apiKey: string }
  | { readonly kind: 'webhook'; readonly signingKey: Buffer };

export interface SignedRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export const USER_AGENT = 'Reach-Webhooks/1.0 (+https://github.com/reach-sms/reach)';

/**
 * The exact request of one attempt. The body is the outbox payload as stored, so every attempt
 * of a delivery carries the same bytes and the same signature; the delivery id is the same on
 * every attempt (receivers de-duplicate on it), the timestamp is the attempt's.
 *
 * - Status callbacks (Reach): form-encoded, `X-Reach-Signature` over URL + sorted params, keyed
 *   by the account's API key; `X-Reach-Delivery-Id`, `X-Reach-Timestamp` (Unix seconds).
 * - Webhooks (ReachCell): JSON envelope, `X-ReachCell-Signature: sha256=<hex>` over the raw body;
 *   `X-ReachCell-Delivery-Id`, `X-ReachCell-Timestamp`.
 */
export function buildSignedRequest(delivery: ClaimedDelivery, material: SigningMaterial, now: Date): SignedRequest {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  switch (material.kind) {
    case 'status_callback': {
      const signature = reachSignature(material.apiKey, delivery.url, formParams(delivery.payload));
      return {
        body: delivery.payload,
        headers: {
          'content-type': delivery.contentType,
          'user-agent': USER_AGENT,
          'x-reach-signature': signature,
          'x-reach-delivery-id': delivery.id,
          'x-reach-timestamp': timestamp,
        },
      };
    }
    case 'webhook':
      return {
        body: delivery.payload,
        headers: {
          'content-type': delivery.contentType,
          'user-agent': USER_AGENT,
          'x-reachcell-signature': reachCellSignatureWithKey(material.signingKey, delivery.payload),
          'x-reachcell-delivery-id': delivery.id,
          'x-reachcell-timestamp': timestamp,
        },
      };
    default: {
      const unreachable: never = material;
      return unreachable;
    }
  }
}

/** The params a form body decodes to, as a receiver's framework hands them to `validateRequest`. */
export function formParams(payload: string): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(payload)) {
    const existing = params[name];
    if (existing === undefined) params[name] = value;
    else params[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return params;
}
