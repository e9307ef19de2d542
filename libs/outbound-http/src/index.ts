export { isForbiddenAddress } from './address-policy';
export {
  createSafeDispatcher,
  resolveDestination,
  type HostLookup,
  type ResolvedAddress,
  type SafeDispatcher,
  type SafeDispatcherOptions,
} from './safe-dispatcher';
export {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  RESPONSE_BODY_LIMIT_BYTES,
  deliver,
  type DeliveryRequest,
  type DeliveryResponse,
} from './deliver';
export {
  DeliveryConnectionError,
  DeliveryTimeoutError,
  ForbiddenDestinationError,
  InvalidDestinationUrlError,
  isOutboundHttpError,
  type OutboundHttpError,
  type OutboundHttpErrorCode,
} from './outbound-http.errors';
