import { reachCellStatuses, type ReachCellStatus } from '@reach/contracts';
import { hasE164Shape, parseE164 } from './phone-number';
import { isEncodable } from './segments';

/**
 * Validation of the ReachCell dialect's inputs (PRODUCT.md §1, seed 000): the `POST /v1/sms/send`
 * body and the `GET /v1/sms` query. Pure and dependency-free apart from libphonenumber, so the
 * gateway can map the stable error codes to its wire format once.
 *
 * Every rule is checked and all failures are reported together, in field order. Error `field`s
 * are the wire names (`per_page`, `from_date`), `''` for the request as a whole.
 */

/** ReachCell documents "Max 1 600 characters"; we count Unicode code points (`[...body].length`). */
export const REACHCELL_MAX_BODY_CHARACTERS = 1600;

export type SendRequestErrorCode = 'missing' | 'invalid_type' | 'invalid_number' | 'too_long' | 'empty' | 'not_encodable';

export interface FieldError<Code extends string> {
  readonly field: string;
  readonly code: Code;
  readonly message: string;
}

export type SendRequestError = FieldError<SendRequestErrorCode>;

export interface ReachCellSend {
  readonly from: string;
  readonly to: string;
  readonly body: string;
}

export type ValidationResult<Value, Code extends string> =
  | { readonly ok: true; readonly value: Value }
  | { readonly ok: false; readonly errors: ReadonlyArray<FieldError<Code>> };

/**
 * Validates a parsed JSON body of `POST /v1/sms/send`. Unknown fields are ignored (clients of the
 * original API may send more). `from`/`to` must be valid E.164 numbers exactly as typed; whether
 * `from` is provisioned to the account is the gateway's check, not this one. The body may be any
 * non-empty text of at most 1600 code points that is valid Unicode (no lone surrogates).
 */
export function validateReachCellSend(input: unknown): ValidationResult<ReachCellSend, SendRequestErrorCode> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail([{ field: '', code: 'invalid_type', message: 'the request body must be a JSON object' }]);
  }
  const record = input as Record<string, unknown>;
  const errors: SendRequestError[] = [];
  const from = e164Field(record, 'from', errors);
  const to = e164Field(record, 'to', errors);
  const body = bodyField(record, errors);
  if (from === null || to === null || body === null) return fail(errors);
  return { ok: true, value: { from, to, body } };
}

function e164Field(record: Record<string, unknown>, field: 'from' | 'to', errors: SendRequestError[]): string | null {
  const value = record[field];
  if (value === undefined || value === null) {
    errors.push({ field, code: 'missing', message: `${field} is required` });
    return null;
  }
  if (typeof value !== 'string') {
    errors.push({ field, code: 'invalid_type', message: `${field} must be a string` });
    return null;
  }
  const parsed = parseE164(value);
  if (!parsed.ok) {
    errors.push({ field, code: 'invalid_number', message: `${field} must be an E.164 number such as +14155552671: ${parsed.reason}` });
    return null;
  }
  return parsed.e164;
}

function bodyField(record: Record<string, unknown>, errors: SendRequestError[]): string | null {
  const body = record['body'];
  if (body === undefined || body === null) {
    errors.push({ field: 'body', code: 'missing', message: 'body is required' });
    return null;
  }
  if (typeof body !== 'string') {
    errors.push({ field: 'body', code: 'invalid_type', message: 'body must be a string' });
    return null;
  }
  if (body.length === 0) {
    errors.push({ field: 'body', code: 'empty', message: 'body must not be empty' });
    return null;
  }
  const characters = [...body].length;
  if (characters > REACHCELL_MAX_BODY_CHARACTERS) {
    errors.push({
      field: 'body',
      code: 'too_long',
      message: `body must be at most ${REACHCELL_MAX_BODY_CHARACTERS} characters (got ${characters})`,
    });
    return null;
  }
  if (!isEncodable(body)) {
    errors.push({ field: 'body', code: 'not_encodable', message: 'body contains an unpaired UTF-16 surrogate and cannot be sent' });
    return null;
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// GET /v1/sms query

export const REACHCELL_DEFAULT_PAGE = 1;
export const REACHCELL_DEFAULT_PER_PAGE = 20;
export const REACHCELL_MAX_PER_PAGE = 100;
/** Keeps (page - 1) × per_page well inside a safe integer and a Postgres bigint offset. */
export const REACHCELL_MAX_PAGE = 1_000_000_000;

export type ListQueryErrorCode = 'invalid_type' | 'repeated' | 'invalid_number' | 'invalid_value' | 'invalid_date' | 'out_of_range';

export type ListQueryError = FieldError<ListQueryErrorCode>;

export interface ReachCellListQuery {
  /** E.164; matches `from` or `to`. */
  readonly number?: string;
  readonly direction?: 'inbound' | 'outbound';
  readonly status?: ReachCellStatus;
  /** YYYY-MM-DD, inclusive. */
  readonly fromDate?: string;
  /** YYYY-MM-DD, inclusive. */
  readonly toDate?: string;
  /** 1-based. */
  readonly page: number;
  readonly perPage: number;
}

const directions = ['inbound', 'outbound'] as const;

/**
 * Validates the `GET /v1/sms` query as the HTTP framework parsed it: each value a string, or a
 * string[] when the parameter was repeated (refused: which one would we use?). Unknown
 * parameters are ignored. An empty value (`?status=`) counts as absent, as clients building
 * query strings from optional fields commonly send them.
 *
 * `number` only needs the E.164 shape, not metadata validity: stored messages (inbound ones in
 * particular) may involve numbers the current metadata no longer calls valid, and they must stay
 * findable. A space in place of the leading `+` is read as `+`, because an unencoded `+` in a
 * query string decodes to a space (`?number=+14155552671`).
 */
export function validateReachCellListQuery(
  query: Readonly<Record<string, unknown>>,
): ValidationResult<ReachCellListQuery, ListQueryErrorCode> {
  const errors: ListQueryError[] = [];
  const value: {
    number?: string;
    direction?: 'inbound' | 'outbound';
    status?: ReachCellStatus;
    fromDate?: string;
    toDate?: string;
    page: number;
    perPage: number;
  } = { page: REACHCELL_DEFAULT_PAGE, perPage: REACHCELL_DEFAULT_PER_PAGE };

  const number = singleQueryParam(query, 'number', errors);
  if (number !== undefined) {
    const candidate = /^ \d/.test(number) ? `+${number.slice(1)}` : number;
    if (hasE164Shape(candidate)) value.number = candidate;
    else errors.push({ field: 'number', code: 'invalid_number', message: 'number must be an E.164 number such as +14155552671' });
  }

  const direction = singleQueryParam(query, 'direction', errors);
  if (direction !== undefined) {
    if (isOneOf(directions, direction)) value.direction = direction;
    else errors.push({ field: 'direction', code: 'invalid_value', message: 'direction must be inbound or outbound' });
  }

  const status = singleQueryParam(query, 'status', errors);
  if (status !== undefined) {
    if (isOneOf(reachCellStatuses, status)) value.status = status;
    else errors.push({ field: 'status', code: 'invalid_value', message: `status must be one of: ${reachCellStatuses.join(', ')}` });
  }

  const fromDate = dateParam(query, 'from_date', errors);
  if (fromDate !== undefined) value.fromDate = fromDate;
  const toDate = dateParam(query, 'to_date', errors);
  if (toDate !== undefined) value.toDate = toDate;
  // YYYY-MM-DD strings order like the dates they name.
  if (fromDate !== undefined && toDate !== undefined && toDate < fromDate) {
    errors.push({ field: 'to_date', code: 'out_of_range', message: 'to_date must not be before from_date' });
  }

  const page = integerQueryParam(query, 'page', 1, REACHCELL_MAX_PAGE, errors);
  if (page !== undefined) value.page = page;
  const perPage = integerQueryParam(query, 'per_page', 1, REACHCELL_MAX_PER_PAGE, errors);
  if (perPage !== undefined) value.perPage = perPage;

  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}

/** The parameter's one string value; undefined when absent, empty or refused (error recorded). */
/** The errors the shared query-parameter readers report. */
export type QueryParamErrorCode = 'invalid_type' | 'repeated' | 'invalid_value' | 'out_of_range';

/**
 * One query parameter as text: absent or empty is `undefined`; a repeated or non-text value is
 * reported in `errors` (and also `undefined`). Shared by every list endpoint's query parser.
 */
export function singleQueryParam<C extends string>(
  query: Readonly<Record<string, unknown>>,
  field: string,
  errors: FieldError<C | QueryParamErrorCode>[],
): string | undefined {
  const raw = query[field];
  if (raw === undefined || raw === '') return undefined;
  if (Array.isArray(raw)) {
    errors.push({ field, code: 'repeated', message: `${field} must be given at most once` });
    return undefined;
  }
  if (typeof raw !== 'string') {
    errors.push({ field, code: 'invalid_type', message: `${field} must be a string` });
    return undefined;
  }
  return raw;
}

function dateParam(query: Readonly<Record<string, unknown>>, field: string, errors: ListQueryError[]): string | undefined {
  const raw = singleQueryParam(query, field, errors);
  if (raw === undefined) return undefined;
  if (!isCalendarDate(raw)) {
    errors.push({ field, code: 'invalid_date', message: `${field} must be a date as YYYY-MM-DD` });
    return undefined;
  }
  return raw;
}

/** A whole-number query parameter within [min, max]; problems are reported in `errors`. */
export function integerQueryParam<C extends string>(
  query: Readonly<Record<string, unknown>>,
  field: string,
  min: number,
  max: number,
  errors: FieldError<C | QueryParamErrorCode>[],
): number | undefined {
  const raw = singleQueryParam(query, field, errors);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) {
    errors.push({ field, code: 'invalid_value', message: `${field} must be a whole number` });
    return undefined;
  }
  const n = Number(raw);
  if (n < min || n > max) {
    errors.push({ field, code: 'out_of_range', message: `${field} must be between ${min} and ${max}` });
    return undefined;
  }
  return n;
}

/** A real Gregorian date written YYYY-MM-DD (so 2026-02-30 and 2026-13-01 are refused). */
export function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  // Not Date.UTC: it maps years 0–99 to 1900–1999. Overflowing days/months roll over, which the
  // comparison below catches.
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function isOneOf<T extends string>(options: readonly T[], value: string): value is T {
  return (options as readonly string[]).includes(value);
}

function fail<Code extends string>(errors: ReadonlyArray<FieldError<Code>>): { ok: false; errors: ReadonlyArray<FieldError<Code>> } {
  return { ok: false, errors };
}
