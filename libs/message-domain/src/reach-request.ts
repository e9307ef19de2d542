import { DAY_MS, parseIsoDateTime, startOfDayUtcMs } from './iso-date-time';
import { hasE164Shape, parseE164 } from './phone-number';
import { reachError, type ReachError, type ReachResult } from './reach-errors';
import { isCalendarDate } from './send-request';
import { countSegments, isEncodable, type SegmentCount } from './segments';

/**
 * Validation of the Reach dialect's inputs (PRODUCT.md §2, seed 001): `create`, `list`, and the
 * `messageId`/`body` of fetch, update, unschedule and delete. Pure: `now` comes in with the call.
 *
 * Parameters arrive form-encoded (every value a string, a repeated one as string[]) or as JSON
 * (typed values); both are accepted: `validityPeriod` may be `"60"` or `60`. Unknown parameters
 * are ignored. For optional parameters, `null` and `""` mean absent (clients building requests
 * from optional fields send them). A repeated parameter is refused with that parameter's code.
 *
 * The dialect's error body carries one code, so the first failing rule wins, in this order:
 * missing dest/src/body (10002, all missing ones named) → dest (20101) → src (20102) →
 * dest = src (20101) → body: blank (20103), not encodable (20107), longer than 1600 units
 * (20103), more than 10 segments (20108) → bulkIdentifier (10002) → scheduledTime (20104) →
 * validityPeriod (20105) → statusCallback (20106) → maxPrice (20109).
 */

export const REACH_MAX_BODY_UNITS = 1600;
export const REACH_MAX_SEGMENTS = 10;
export const REACH_MAX_VALIDITY_PERIOD_SECONDS = 14_400;
export const REACH_DEFAULT_VALIDITY_PERIOD_SECONDS = REACH_MAX_VALIDITY_PERIOD_SECONDS;
export const REACH_MAX_BULK_IDENTIFIER_LENGTH = 256;
export const REACH_MAX_STATUS_CALLBACK_LENGTH = 2048;
export const REACH_ALPHANUMERIC_SENDER_MAX_LENGTH = 11;
/** "At least 15 minutes and at most 5 days after the request" (PRODUCT.md §2). */
export const REACH_SCHEDULE_WINDOW: ScheduleWindow = { minAheadMs: 15 * 60_000, maxAheadMs: 5 * DAY_MS };

export interface ScheduleWindow {
  readonly minAheadMs: number;
  readonly maxAheadMs: number;
}

export interface ReachCreateContext {
  readonly now: Date;
  readonly scheduleWindow: ScheduleWindow;
}

export type SourceKind = 'number' | 'alphanumeric' | 'invalid';

export interface ReachCreate {
  /** E.164, exactly as given. */
  readonly dest: string;
  /** ISO 3166-1 alpha-2 region of `dest` (for pricing), null for non-geographic numbers. */
  readonly destCountry: string | null;
  readonly src: string;
  readonly srcKind: Exclude<SourceKind, 'invalid'>;
  /** As given: not trimmed or normalised. */
  readonly body: string;
  readonly segments: SegmentCount;
  readonly bulkId: string | null;
  readonly scheduledTime: Date | null;
  readonly validityPeriodSeconds: number;
  /** As given (the signature covers the URL exactly as registered). */
  readonly statusCallback: string | null;
  readonly maxPrice: number | null;
}

type Params = Readonly<Record<string, unknown>>;

/**
 * Validates a `create` request. Whether `src` is a number or sender id registered to the applet
 * is the gateway's check (20102 too); here it only has to be one or the other in form.
 *
 * Body length: the "1600 GSM-7 characters" are counted in the body's own units, septets for
 * GSM-7 (an extension character such as `€` is two) and UTF-16 units for UCS-2. Both that limit
 * and "at most 10 segments" apply, so the effective ceiling is 10 segments: 1530 septets when
 * GSM-7 (10 × 153; less when an escape pair straddles a part), 670 units when UCS-2. A GSM-7
 * body of 1531–1600 septets is refused as 20108, beyond 1600 as 20103.
 */
export function validateReachCreate(input: Params, ctx: ReachCreateContext): ReachResult<ReachCreate> {
  const missing = (['dest', 'src', 'body'] as const).filter((name) => {
    const value = own(input, name);
    // An empty body is present but blank (20103); an empty dest or src is missing.
    return value === undefined || value === null || (name !== 'body' && value === '');
  });
  if (missing.length > 0) {
    return fail(reachError('missingRequestData', `Missing required parameter${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, {
      missingParams: missing,
    }));
  }

  const destRaw = own(input, 'dest');
  if (typeof destRaw !== 'string') return fail(reachError('badDest', 'dest must be a single string', { param: 'dest' }));
  const dest = parseE164(destRaw);
  if (!dest.ok) {
    return fail(reachError('badDest', `dest must be a valid E.164 number such as +237671234567: ${dest.reason}`, { param: 'dest' }));
  }

  const src = own(input, 'src');
  if (typeof src !== 'string') return fail(reachError('badSrc', 'src must be a single string', { param: 'src' }));
  const srcKind = classifySource(src);
  if (srcKind === 'invalid') {
    return fail(reachError(
      'badSrc',
      'src must be a valid E.164 number or an alphanumeric sender id of 1 to 11 letters, digits and inner spaces with at least one letter',
      { param: 'src' },
    ));
  }
  if (dest.e164 === src) {
    return fail(reachError('badDest', 'dest must differ from src: a number cannot send a message to itself', { param: 'dest' }));
  }

  const body = createBody(own(input, 'body'));
  if (!body.ok) return body;

  const bulkId = bulkIdentifier(input);
  if (!bulkId.ok) return bulkId;

  const scheduledTime = scheduled(input, ctx);
  if (!scheduledTime.ok) return scheduledTime;

  const validity = validityPeriod(input);
  if (!validity.ok) return validity;

  const callback = statusCallback(input);
  if (!callback.ok) return callback;

  const price = maxPrice(input);
  if (!price.ok) return price;

  return {
    ok: true,
    value: {
      dest: dest.e164,
      destCountry: dest.country,
      src,
      srcKind,
      body: body.value.text,
      segments: body.value.segments,
      bulkId: bulkId.value,
      scheduledTime: scheduledTime.value,
      validityPeriodSeconds: validity.value,
      statusCallback: callback.value,
      maxPrice: price.value,
    },
  };
}

const ALPHANUMERIC_SENDER = /^[A-Za-z0-9](?:[A-Za-z0-9 ]{0,9}[A-Za-z0-9])?$/;

/**
 * What a `src` is, by form only: a valid E.164 number (`parseE164`), an alphanumeric sender id
 * (1–11 of `[A-Za-z0-9 ]` with at least one letter, so an all-digit short code is not one), or
 * neither. Spaces may only be inside a sender id: a leading or trailing one would never match
 * the registered id and handsets do not show it.
 */
export function classifySource(src: string): SourceKind {
  if (src.startsWith('+')) return parseE164(src).ok ? 'number' : 'invalid';
  return isAlphanumericSender(src) ? 'alphanumeric' : 'invalid';
}

function isAlphanumericSender(src: string): boolean {
  return ALPHANUMERIC_SENDER.test(src) && /[A-Za-z]/.test(src);
}

function createBody(raw: unknown): ReachResult<{ text: string; segments: SegmentCount }> {
  if (typeof raw !== 'string') return fail(reachError('badBody', 'body must be a single string', { param: 'body' }));
  if (raw.trim() === '') return fail(reachError('badBody', 'body must not be blank', { param: 'body' }));
  if (!isEncodable(raw)) {
    return fail(reachError('bodyNotEncodable', 'body contains an unpaired UTF-16 surrogate and fits neither GSM-7 nor UCS-2', {
      param: 'body',
    }));
  }
  const segments = countSegments(raw);
  if (segments.units > REACH_MAX_BODY_UNITS) {
    const unit = segments.encoding === 'GSM-7' ? 'GSM-7 characters (septets)' : 'UCS-2 units';
    return fail(reachError('badBody', `body must be at most ${REACH_MAX_BODY_UNITS} ${unit}, got ${segments.units}`, {
      param: 'body',
      encoding: segments.encoding,
      units: segments.units,
    }));
  }
  if (segments.count > REACH_MAX_SEGMENTS) {
    return fail(reachError('tooManySegments', `body must fit in ${REACH_MAX_SEGMENTS} segments, got ${segments.count} (${segments.encoding})`, {
      param: 'body',
      encoding: segments.encoding,
      segments: segments.count,
    }));
  }
  return { ok: true, value: { text: raw, segments } };
}

/**
 * Optional, at most 256 characters (code points), no control characters and no lone
 * surrogates. No code in PRODUCT.md names bulkIdentifier, so a bad one is 10002 (invalid request
 * data), with errorDetails naming it.
 */
function bulkIdentifier(input: Params): ReachResult<string | null> {
  const raw = optional(input, 'bulkIdentifier');
  if (raw === undefined) return { ok: true, value: null };
  const problem = typeof raw === 'string' ? bulkIdentifierProblem(raw) : 'bulkIdentifier must be a single string';
  if (problem !== null) return fail(reachError('missingRequestData', problem, { param: 'bulkIdentifier' }));
  return { ok: true, value: String(raw) };
}

function bulkIdentifierProblem(raw: string): string | null {
  if ([...raw].length > REACH_MAX_BULK_IDENTIFIER_LENGTH) return `bulkIdentifier must be at most ${REACH_MAX_BULK_IDENTIFIER_LENGTH} characters`;
  if (/[\u0000-\u001f\u007f]/.test(raw) || !isEncodable(raw)) return 'bulkIdentifier must not contain control characters or unpaired surrogates';
  return null;
}

/** Bounds inclusive: exactly `now + minAheadMs` and exactly `now + maxAheadMs` are accepted. */
function scheduled(input: Params, ctx: ReachCreateContext): ReachResult<Date | null> {
  const raw = optional(input, 'scheduledTime');
  if (raw === undefined) return { ok: true, value: null };
  const parsed = typeof raw === 'string' ? parseIsoDateTime(raw) : null;
  if (parsed === null) {
    return fail(reachError('badScheduledTime', 'scheduledTime must be an ISO-8601 date-time with an offset, such as 2026-08-31T01:23:45Z', {
      param: 'scheduledTime',
    }));
  }
  const at = parsed.instant.getTime();
  const earliest = ctx.now.getTime() + ctx.scheduleWindow.minAheadMs;
  const latest = ctx.now.getTime() + ctx.scheduleWindow.maxAheadMs;
  if (at < earliest || at > latest) {
    return fail(reachError(
      'badScheduledTime',
      `scheduledTime must be between ${duration(ctx.scheduleWindow.minAheadMs)} and ${duration(ctx.scheduleWindow.maxAheadMs)} after the request`,
      { param: 'scheduledTime', earliest: new Date(earliest).toISOString(), latest: new Date(latest).toISOString() },
    ));
  }
  return { ok: true, value: parsed.instant };
}

function duration(ms: number): string {
  const [n, unit] = ms % DAY_MS === 0 ? [ms / DAY_MS, 'day'] : ms % 60_000 === 0 ? [ms / 60_000, 'minute'] : [ms / 1000, 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function validityPeriod(input: Params): ReachResult<number> {
  const raw = optional(input, 'validityPeriod');
  if (raw === undefined) return { ok: true, value: REACH_DEFAULT_VALIDITY_PERIOD_SECONDS };
  const seconds = wholeNumber(raw);
  if (seconds === null || seconds < 1 || seconds > REACH_MAX_VALIDITY_PERIOD_SECONDS) {
    return fail(reachError('badValidityPeriod', `validityPeriod must be a whole number of seconds from 1 to ${REACH_MAX_VALIDITY_PERIOD_SECONDS}`, {
      param: 'validityPeriod',
    }));
  }
  return { ok: true, value: seconds };
}

function statusCallback(input: Params): ReachResult<string | null> {
  const raw = optional(input, 'statusCallback');
  if (raw === undefined) return { ok: true, value: null };
  const problem = typeof raw === 'string' ? callbackUrlProblem(raw) : 'statusCallback must be a single string';
  if (problem !== null) return fail(reachError('badStatusCallback', problem, { param: 'statusCallback' }));
  return { ok: true, value: String(raw) };
}

/**
 * Why a status callback URL is refused, or null when it is fine: an absolute http(s) URL of at
 * most 2048 characters, without whitespace or control characters (it is stored and signed as
 * given), whose hostname is an IP address or DNS labels of letters, digits and inner hyphens
 * (single-label names such as a compose service are fine) and has no underscore. Query strings,
 * ports and user info are fine; a fragment is refused because it never reaches the receiver,
 * whose signature check (over the URL as registered) would then always fail.
 */
export function callbackUrlProblem(url: string): string | null {
  if (url.length > REACH_MAX_STATUS_CALLBACK_LENGTH) return `statusCallback must be at most ${REACH_MAX_STATUS_CALLBACK_LENGTH} characters`;
  if (/[\s\u0000-\u001f\u007f]/.test(url)) return 'statusCallback must not contain whitespace or control characters';
  if (!/^https?:\/\//i.test(url)) return 'statusCallback must be an absolute http:// or https:// URL';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'statusCallback is not a valid URL';
  }
  if (parsed.hostname.includes('_')) return 'statusCallback hostname must not contain underscores';
  if (!isValidHostname(parsed.hostname)) return 'statusCallback must have a valid hostname';
  if (url.includes('#')) return 'statusCallback must not have a fragment (#…): it is never sent to the receiver';
  return null;
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** `hostname` as the WHATWG URL parser leaves it: lower case, IDNs in punycode, IPv4 normalised. */
function isValidHostname(hostname: string): boolean {
  if (hostname.startsWith('[')) return true; // IPv6, validated by the URL parser
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => DNS_LABEL.test(label));
}

function maxPrice(input: Params): ReachResult<number | null> {
  const raw = optional(input, 'maxPrice');
  if (raw === undefined) return { ok: true, value: null };
  const price = decimal(raw);
  if (price === null || !(price > 0)) {
    return fail(reachError('badMaxPrice', 'maxPrice must be a number greater than 0', { param: 'maxPrice' }));
  }
  return { ok: true, value: price };
}

// ---------------------------------------------------------------------------------------------
// list

export const REACH_DEFAULT_PAGE = 0;
export const REACH_DEFAULT_PAGE_SIZE = 20;
export const REACH_MAX_PAGE_SIZE = 1000;
/** Keeps page × pageSize a safe integer and a Postgres bigint offset. */
export const REACH_MAX_PAGE = 1_000_000_000;

export interface ReachListQuery {
  /** E.164 shape (not checked against today's metadata, so old messages stay findable). */
  readonly dest: string | null;
  /** E.164 shape or alphanumeric sender id. */
  readonly src: string | null;
  readonly bulkId: string | null;
  /** `sentAt`: the calendar day, half-open: from ≤ dateSent < until. */
  readonly sentOn: { readonly from: Date; readonly until: Date } | null;
  /** `sentAfter`, exclusive: dateSent > sentAfter. */
  readonly sentAfter: Date | null;
  /** `sentBefore`, exclusive: dateSent < sentBefore. */
  readonly sentBefore: Date | null;
  /** 0-based. */
  readonly page: number;
  readonly pageSize: number;
}

/**
 * Validates the `list` query. Decisions:
 * - `dest` and `src` need only the E.164 shape (or the sender id form for src). A space in place
 *   of a leading `+` is read as `+`: an unencoded `+` in a query string decodes to a space.
 * - `sentAt` names a calendar day ("messages sent at the specified date", the official clients'
 *   doc), given as `YYYY-MM-DD` (a UTC day) or as a date-time, which stands for its calendar day
 *   in its own offset (the clients send `…T00:00:00Z`, i.e. the UTC day).
 * - `sentAfter` and `sentBefore` are instants (date-time with offset, or `YYYY-MM-DD` for that
 *   day's UTC midnight), both exclusive. Contradictory filters are not an error: they match nothing.
 * - A bad bulkIdentifier, sentAt, sentAfter or sentBefore is 10002 (no specific code exists).
 * - `page` is a whole number 0…1e9 (20007); a page past the end is not an error, the answer says
 *   `outOfPageRange`. `pageSize` is a whole number 1…1000 (20006).
 */
export function validateReachList(query: Params): ReachResult<ReachListQuery> {
  const dest = optional(query, 'dest');
  let destValue: string | null = null;
  if (dest !== undefined) {
    const candidate = typeof dest === 'string' ? plusFromSpace(dest) : null;
    if (candidate === null || !hasE164Shape(candidate)) {
      return fail(reachError('badDest', 'dest must be an E.164 number such as +237671234567', { param: 'dest' }));
    }
    destValue = candidate;
  }

  const src = optional(query, 'src');
  let srcValue: string | null = null;
  if (src !== undefined) {
    const candidate = typeof src === 'string' ? plusFromSpace(src) : null;
    if (candidate === null || !(hasE164Shape(candidate) || isAlphanumericSender(candidate))) {
      return fail(reachError('badSrc', 'src must be an E.164 number or an alphanumeric sender id', { param: 'src' }));
    }
    srcValue = candidate;
  }

  const bulkId = bulkIdentifier(query);
  if (!bulkId.ok) return bulkId;

  const sentAt = optional(query, 'sentAt');
  let sentOn: ReachListQuery['sentOn'] = null;
  if (sentAt !== undefined) {
    const day = typeof sentAt === 'string' ? calendarDay(sentAt) : null;
    if (day === null) return fail(badDateParam('sentAt', 'a date (YYYY-MM-DD) or an ISO-8601 date-time with an offset'));
    sentOn = day;
  }

  const sentAfter = instantParam(query, 'sentAfter');
  if (!sentAfter.ok) return sentAfter;
  const sentBefore = instantParam(query, 'sentBefore');
  if (!sentBefore.ok) return sentBefore;

  const page = optional(query, 'page');
  let pageValue = REACH_DEFAULT_PAGE;
  if (page !== undefined) {
    const n = wholeNumber(page);
    if (n === null || n > REACH_MAX_PAGE) {
      return fail(reachError('badPage', `page must be a whole number from 0 to ${REACH_MAX_PAGE} (pages are 0-based)`, { param: 'page' }));
    }
    pageValue = n;
  }

  const pageSize = optional(query, 'pageSize');
  let pageSizeValue = REACH_DEFAULT_PAGE_SIZE;
  if (pageSize !== undefined) {
    const n = wholeNumber(pageSize);
    if (n === null || n < 1 || n > REACH_MAX_PAGE_SIZE) {
      return fail(reachError('badPageSize', `pageSize must be a whole number from 1 to ${REACH_MAX_PAGE_SIZE}`, { param: 'pageSize' }));
    }
    pageSizeValue = n;
  }

  return {
    ok: true,
    value: {
      dest: destValue,
      src: srcValue,
      bulkId: bulkId.value,
      sentOn,
      sentAfter: sentAfter.value,
      sentBefore: sentBefore.value,
      page: pageValue,
      pageSize: pageSizeValue,
    },
  };
}

function plusFromSpace(value: string): string {
  return /^ [1-9]\d*$/.test(value) ? `+${value.slice(1)}` : value;
}

function calendarDay(text: string): { from: Date; until: Date } | null {
  const date = isCalendarDate(text) ? { localDate: text, offsetMinutes: 0 } : parseIsoDateTime(text);
  if (date === null) return null;
  const from = startOfDayUtcMs(date.localDate) - date.offsetMinutes * 60_000;
  return { from: new Date(from), until: new Date(from + DAY_MS) };
}

function instantParam(query: Params, name: 'sentAfter' | 'sentBefore'): ReachResult<Date | null> {
  const raw = optional(query, name);
  if (raw === undefined) return { ok: true, value: null };
  if (typeof raw === 'string') {
    if (isCalendarDate(raw)) return { ok: true, value: new Date(startOfDayUtcMs(raw)) };
    const parsed = parseIsoDateTime(raw);
    if (parsed !== null) return { ok: true, value: parsed.instant };
  }
  return fail(badDateParam(name, 'an ISO-8601 date-time with an offset (or YYYY-MM-DD for UTC midnight)'));
}

function badDateParam(name: string, expected: string): ReachError {
  return reachError('missingRequestData', `${name} must be ${expected}`, { param: name });
}

// ---------------------------------------------------------------------------------------------
// messageId (fetch, update, unschedule, delete) and update's body

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ReachMessageRef {
  readonly messageId: string;
  /**
   * False when the id cannot be one we issued (every message id is a UUID): answer 404 without
   * a lookup (the read model's uuid column would reject the text rather than find nothing).
   */
  readonly wellFormed: boolean;
}

/**
 * `messageId` is required (10002 when absent or empty); any other string (or JSON number) is
 * returned for lookup, so a malformed id is "not found" (404), not a validation error.
 */
export function validateMessageId(params: Params): ReachResult<ReachMessageRef> {
  const raw = own(params, 'messageId');
  if (raw === undefined || raw === null || raw === '') {
    return fail(reachError('missingRequestData', 'Missing required parameter: messageId', { missingParams: ['messageId'] }));
  }
  const messageId = typeof raw === 'string' ? raw : typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : null;
  if (messageId === null) return fail(reachError('missingRequestData', 'messageId must be a single string', { param: 'messageId' }));
  return { ok: true, value: { messageId, wellFormed: UUID.test(messageId) } };
}

export interface ReachUpdate extends ReachMessageRef {
  /** The text stored in place of the message's body; may be empty (redaction). */
  readonly body: string;
}

/**
 * `update` replaces the stored text only (nothing is sent), so the body may be empty; it must
 * be valid Unicode (20107) and at most 1600 characters (code points, 20103).
 */
export function validateReachUpdate(params: Params): ReachResult<ReachUpdate> {
  const id = validateMessageId(params);
  if (!id.ok) return id;
  const body = own(params, 'body');
  if (body === undefined || body === null) {
    return fail(reachError('missingRequestData', 'Missing required parameter: body', { missingParams: ['body'] }));
  }
  if (typeof body !== 'string') return fail(reachError('badBody', 'body must be a single string', { param: 'body' }));
  if (!isEncodable(body)) return fail(reachError('bodyNotEncodable', 'body contains an unpaired UTF-16 surrogate', { param: 'body' }));
  if ([...body].length > REACH_MAX_BODY_UNITS) {
    return fail(reachError('badBody', `body must be at most ${REACH_MAX_BODY_UNITS} characters`, { param: 'body' }));
  }
  return { ok: true, value: { ...id.value, body } };
}

// ---------------------------------------------------------------------------------------------
// shared

function own(params: Params, name: string): unknown {
  return Object.hasOwn(params, name) ? params[name] : undefined;
}

/** An optional parameter's value; undefined when absent, null or empty. */
function optional(params: Params, name: string): unknown {
  const value = own(params, name);
  return value === null || value === '' ? undefined : value;
}

/** A whole number ≥ 0 from a JSON number or a string of digits; null for anything else. */
function wholeNumber(raw: unknown): number | null {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw : null;
  if (typeof raw === 'string' && /^\d{1,16}$/.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}

/**
 * A finite number from a JSON number or a decimal string (`0.5`, `.5`, `2`, and `1e-7`, which is
 * how JavaScript form-encodes small numbers); null for anything else (`NaN`, `Infinity`, `0x1`).
 */
function decimal(raw: unknown): number | null {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : null;
  if (typeof raw === 'string' && /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i.test(raw)) {
    const n = Number(raw);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function fail(error: ReachError): { ok: false; error: ReachError } {
  return { ok: false, error };
}
