import { isIP } from 'node:net';
import type { FieldError, ValidationResult } from '@reach/message-domain';
import { isForbiddenAddress } from '@reach/outbound-http';
import { isReachCellWebhookEvent, reachCellWebhookEvents, type ReachCellWebhookEvent } from '@reach/webhooks';

/**
 * Validation of the `POST /v1/webhooks` body `{url, label, events[]}` (PRODUCT.md §1). Pure: no
 * DNS, no I/O. Every rule is checked and all failures are reported together, in field order;
 * `field` is the wire name, `''` for the body as a whole. Unknown fields are ignored.
 */

export const WEBHOOK_URL_MAX_LENGTH = 2048;
export const WEBHOOK_LABEL_MAX_LENGTH = 100;

export type CreateWebhookErrorCode =
  | 'missing'
  | 'invalid_type'
  | 'invalid_url'
  | 'too_long'
  | 'empty'
  | 'forbidden_destination'
  | 'unknown_event'
  | 'duplicate_event';

export type CreateWebhookError = FieldError<CreateWebhookErrorCode>;

export interface CreateWebhook {
  /** The URL as the WHATWG parser normalises it: exactly what the callbacks service will call. */
  readonly url: string;
  /** Trimmed. */
  readonly label: string;
  readonly events: readonly ReachCellWebhookEvent[];
}

export interface CreateWebhookOptions {
  /** `WEBHOOKS_ALLOW_PRIVATE_NETWORKS`: accept localhost and private/reserved literal IPs. */
  readonly allowPrivateNetworks: boolean;
}

export function validateCreateWebhook(input: unknown, options: CreateWebhookOptions): ValidationResult<CreateWebhook, CreateWebhookErrorCode> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: '', code: 'invalid_type', message: 'the request body must be a JSON object' }] };
  }
  const record = input as Record<string, unknown>;
  const errors: CreateWebhookError[] = [];
  const url = urlField(record['url'], options, errors);
  const label = labelField(record['label'], errors);
  const events = eventsField(record['events'], errors);
  if (url === null || label === null || events === null) return { ok: false, errors };
  return { ok: true, value: { url, label, events } };
}

function urlField(value: unknown, options: CreateWebhookOptions, errors: CreateWebhookError[]): string | null {
  const fail = (code: CreateWebhookErrorCode, message: string) => {
    errors.push({ field: 'url', code, message });
    return null;
  };
  if (value === undefined || value === null) return fail('missing', 'url is required');
  if (typeof value !== 'string') return fail('invalid_type', 'url must be a string');
  if (value.trim() === '') return fail('empty', 'url must not be empty');
  if (value.length > WEBHOOK_URL_MAX_LENGTH) return fail('too_long', `url must be at most ${WEBHOOK_URL_MAX_LENGTH} characters (got ${value.length})`);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return fail('invalid_url', 'url must be an absolute http or https URL, such as https://example.com/webhooks/reach');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return fail('invalid_url', `url must use http or https, not ${parsed.protocol.slice(0, -1)}`);
  }
  if (parsed.hostname === '') return fail('invalid_url', 'url must name a host');
  // `https://@host` and `https://:@host` parse to empty credentials but still say something odd.
  if (parsed.username !== '' || parsed.password !== '' || /^https?:\/\/[^/?#]*@/i.test(value.trim())) {
    return fail('invalid_url', 'url must not contain credentials (user:password@); authenticate the request with the X-ReachCell-Signature header instead');
  }
  // Normalisation can lengthen a URL (punycode, percent-encoding); the stored form is what counts.
  if (parsed.href.length > WEBHOOK_URL_MAX_LENGTH) return fail('too_long', `url must be at most ${WEBHOOK_URL_MAX_LENGTH} characters once normalised`);
  if (!options.allowPrivateNetworks) {
    const refusal = privateDestination(parsed.hostname);
    if (refusal !== null) return fail('forbidden_destination', `url must point at a public host: ${refusal}`);
  }
  return parsed.href;
}

/**
 * Why a URL's host is refused on sight, or null. Only what needs no DNS: `localhost` names and
 * literal IPs (which the WHATWG parser has already normalised, so `http://2130706433/` and
 * `http://0x7f.1/` arrive here as 127.0.0.1). A name that resolves to a private address is
 * refused by the callbacks service when it connects, on the address it actually connects to.
 */
export function privateDestination(hostname: string): string | null {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return `${hostname} is the local machine`;
  if (isIP(host) === 0) return null;
  const reason = isForbiddenAddress(host);
  return reason === null ? null : `${hostname} is a ${reason} address`;
}

function labelField(value: unknown, errors: CreateWebhookError[]): string | null {
  if (value === undefined || value === null) {
    errors.push({ field: 'label', code: 'missing', message: 'label is required' });
    return null;
  }
  if (typeof value !== 'string') {
    errors.push({ field: 'label', code: 'invalid_type', message: 'label must be a string' });
    return null;
  }
  const label = value.trim();
  if (label === '') {
    errors.push({ field: 'label', code: 'empty', message: 'label must not be blank' });
    return null;
  }
  const characters = [...label].length;
  if (characters > WEBHOOK_LABEL_MAX_LENGTH) {
    errors.push({ field: 'label', code: 'too_long', message: `label must be at most ${WEBHOOK_LABEL_MAX_LENGTH} characters (got ${characters})` });
    return null;
  }
  return label;
}

const allowedEvents = reachCellWebhookEvents.join(', ');

function eventsField(value: unknown, errors: CreateWebhookError[]): ReachCellWebhookEvent[] | null {
  if (value === undefined || value === null) {
    errors.push({ field: 'events', code: 'missing', message: `events is required: a list of one or more of ${allowedEvents}` });
    return null;
  }
  if (!Array.isArray(value)) {
    errors.push({ field: 'events', code: 'invalid_type', message: `events must be an array of event types (${allowedEvents})` });
    return null;
  }
  if (value.length === 0) {
    errors.push({ field: 'events', code: 'empty', message: `events must name at least one event type (${allowedEvents})` });
    return null;
  }
  const events: ReachCellWebhookEvent[] = [];
  const before = errors.length;
  for (const [index, item] of value.entries()) {
    const field = `events[${index}]`;
    if (typeof item !== 'string') {
      errors.push({ field, code: 'invalid_type', message: `${field} must be a string, one of ${allowedEvents}` });
    } else if (!isReachCellWebhookEvent(item)) {
      errors.push({ field, code: 'unknown_event', message: `${field} is an unknown event type "${item}"; allowed: ${allowedEvents}` });
    } else if (events.includes(item)) {
      errors.push({ field, code: 'duplicate_event', message: `${field} repeats "${item}"; list each event type once` });
    } else {
      events.push(item);
    }
  }
  return errors.length === before ? events : null;
}
