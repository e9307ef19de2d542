import {
  REACHCELL_DEFAULT_PAGE,
  REACHCELL_DEFAULT_PER_PAGE,
  REACHCELL_MAX_PAGE,
  REACHCELL_MAX_PER_PAGE,
  integerQueryParam,
  singleQueryParam,
  type FieldError,
  type ValidationResult,
} from '@reach/message-domain';
import type { DeliveryFilter } from '@reach/webhooks';

export type DeliveryState = NonNullable<DeliveryFilter['state']>;

export const deliveryStates = ['pending', 'in_flight', 'succeeded', 'failed', 'canceled'] as const satisfies readonly DeliveryState[];

export type DeliveryListQueryErrorCode = 'invalid_type' | 'repeated' | 'invalid_value' | 'out_of_range';

export interface DeliveryListQuery {
  /** 1-based. */
  readonly page: number;
  readonly perPage: number;
  readonly state?: DeliveryState;
}

/**
 * The query of the delivery lists (`GET /v1/webhooks/{id}/deliveries`, `GET /v1/sms/{id}/deliveries`),
 * paged exactly like `GET /v1/sms`: `page` 1-based, `per_page` 1–100 (default 20), plus `state`.
 * An empty value counts as absent, a repeated one is refused, unknown parameters are ignored.
 */
export function validateDeliveryListQuery(
  query: Readonly<Record<string, unknown>>,
): ValidationResult<DeliveryListQuery, DeliveryListQueryErrorCode> {
  const errors: FieldError<DeliveryListQueryErrorCode>[] = [];
  const value: { page: number; perPage: number; state?: DeliveryState } = { page: REACHCELL_DEFAULT_PAGE, perPage: REACHCELL_DEFAULT_PER_PAGE };

  const state = singleQueryParam(query, 'state', errors);
  if (state !== undefined) {
    const known = deliveryStates.find((s) => s === state);
    if (known !== undefined) value.state = known;
    else errors.push({ field: 'state', code: 'invalid_value', message: `state must be one of: ${deliveryStates.join(', ')}` });
  }
  const page = integerQueryParam(query, 'page', 1, REACHCELL_MAX_PAGE, errors);
  if (page !== undefined) value.page = page;
  const perPage = integerQueryParam(query, 'per_page', 1, REACHCELL_MAX_PER_PAGE, errors);
  if (perPage !== undefined) value.perPage = perPage;

  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
