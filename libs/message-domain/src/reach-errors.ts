/**
 * The Reach dialect's error codes (PRODUCT.md §2), each with its HTTP status and default message,
 * in one table so the gateway maps them to the wire body
 * `{status, errorCode, errorMessage, errorDetails, more_info}` in one place.
 *
 * Statuses: validation errors are 400. Authentication 401, a deactivated applet 403, an Accept
 * header without application/json 406. `insufficientBalance` is 402 (Payment Required): the
 * request is well formed, the account just cannot pay for it. `costAboveMaxPrice` is normally not
 * an HTTP answer at all: the message is accepted and then fails with that code (status callback
 * `failed`, `deliveryErrors.costAboveMaxPrice` in contracts); 400 is its status only should a
 * gateway refuse it up front.
 *
 * `notFound` (20404) and `tooManyRequests` (20429) are not in PRODUCT.md's list of known codes;
 * they are ours, numbered as Twilio numbers them (the dialect follows Twilio's conventions, see
 * the signature scheme), because a 404 and a 429 need an errorCode too. So are 20301 (unschedule
 * once the message is already queued or further: too late), 20302 (delete before the message is
 * finished) and 20500 (a failure on our side; the request may be retried).
 */
export const reachErrorCodes = {
  missingRequestData: { code: 10002, status: 400, message: 'Missing or invalid request data' },
  notAcceptable: { code: 10003, status: 406, message: 'The Accept header must allow application/json' },
  missingAuthHeaders: { code: 20002, status: 401, message: 'Missing ApiUser or ApiKey header' },
  badCredentials: { code: 20003, status: 401, message: 'Invalid ApiUser or ApiKey' },
  appletDeactivated: { code: 20005, status: 403, message: 'The applet is deactivated' },
  badPageSize: { code: 20006, status: 400, message: 'Invalid pageSize' },
  badPage: { code: 20007, status: 400, message: 'Invalid page' },
  badDest: { code: 20101, status: 400, message: 'Invalid dest' },
  badSrc: { code: 20102, status: 400, message: 'Invalid or unregistered src' },
  badBody: { code: 20103, status: 400, message: 'The body is blank or too long' },
  badScheduledTime: { code: 20104, status: 400, message: 'Invalid scheduledTime' },
  badValidityPeriod: { code: 20105, status: 400, message: 'Invalid validityPeriod' },
  badStatusCallback: { code: 20106, status: 400, message: 'Invalid statusCallback' },
  bodyNotEncodable: { code: 20107, status: 400, message: 'The body cannot be encoded in GSM-7 or UCS-2' },
  tooManySegments: { code: 20108, status: 400, message: 'The body is more than 10 segments long' },
  badMaxPrice: { code: 20109, status: 400, message: 'maxPrice must be a number greater than 0' },
  costAboveMaxPrice: { code: 20201, status: 400, message: 'The message costs more than maxPrice' },
  insufficientBalance: { code: 20202, status: 402, message: 'Insufficient balance' },
  notFound: { code: 20404, status: 404, message: 'The requested resource was not found' },
  tooManyRequests: { code: 20429, status: 429, message: 'Too many concurrent requests' },
  tooLateToUnschedule: { code: 20301, status: 400, message: 'Too late to unschedule: the message is already being sent or finished' },
  notDeletable: { code: 20302, status: 400, message: 'Only a delivered, undelivered, failed or canceled message can be deleted' },
  internalError: { code: 20500, status: 500, message: 'Something went wrong on our side; the request may be retried' },
} as const satisfies Record<string, { readonly code: number; readonly status: number; readonly message: string }>;

export type ReachErrorName = keyof typeof reachErrorCodes;
export type ReachErrorCode = (typeof reachErrorCodes)[ReachErrorName]['code'];

export interface ReachError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The dialect's `errorCode`. */
  readonly errorCode: ReachErrorCode;
  readonly errorMessage: string;
  readonly errorDetails: Readonly<Record<string, unknown>> | null;
}

export type ReachResult<Value> = { readonly ok: true; readonly value: Value } | { readonly ok: false; readonly error: ReachError };

/** The error named `name`, with the table's message unless a more specific one is given. */
export function reachError(name: ReachErrorName, message?: string, details: Record<string, unknown> | null = null): ReachError {
  const entry = reachErrorCodes[name];
  return { status: entry.status, errorCode: entry.code, errorMessage: message ?? entry.message, errorDetails: details };
}

/** The table entry of a numeric code (e.g. an `errorCode` read back from an event), or null. */
export function reachErrorByCode(code: number): { readonly name: ReachErrorName; readonly status: number; readonly message: string } | null {
  for (const [name, entry] of Object.entries(reachErrorCodes) as [ReachErrorName, (typeof reachErrorCodes)[ReachErrorName]][]) {
    if (entry.code === code) return { name, status: entry.status, message: entry.message };
  }
  return null;
}
