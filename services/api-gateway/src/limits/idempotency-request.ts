import { createHash } from 'node:crypto';

const PRINTABLE_ASCII = /^[\x20-\x7e]{1,255}$/;

/**
 * The Idempotency-Key header's value, or null when it is not 1–255 printable ASCII characters
 * (space to tilde). A header sent twice (an array) is refused rather than guessed at.
 */
export function parseIdempotencyKey(header: string | readonly string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  return PRINTABLE_ASCII.test(header) ? header : null;
}

export interface IdempotentRequest {
  readonly method: string;
  /** The path with its query string, if any (Reach takes parameters from either). */
  readonly path: string;
  readonly accountId: string;
  /** The parsed body (JSON or form fields), whatever the dialect's parser produced. */
  readonly body: unknown;
}

/**
 * Hex SHA-256 of the request's canonical form, so the same request hashes the same however its
 * JSON was laid out: object keys in code-point order at every depth, no whitespace, absent and
 * `undefined` members dropped, array order kept (it is meaningful). Form and JSON bodies with the
 * same fields and string values hash alike, which is what a client retrying means.
 */
export function hashRequest(request: IdempotentRequest): string {
  const canonical = canonicalJson({
    method: request.method.toUpperCase(),
    path: request.path,
    accountId: request.accountId,
    body: request.body ?? null,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Deterministic JSON: the same value gives the same string whatever its keys' insertion order. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object':
      return canonicalObject(value);
    default:
      // functions and symbols: what JSON.stringify makes of them in an array
      return 'null';
  }
}

function canonicalObject(value: object): string {
  if (Array.isArray(value)) return `[${value.map((item: unknown) => canonicalJson(item)).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Buffer.isBuffer(value)) return JSON.stringify(value.toString('base64'));
  const members = Object.entries(value)
    .filter(([, member]) => member !== undefined && typeof member !== 'function' && typeof member !== 'symbol')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, member]) => `${JSON.stringify(name)}:${canonicalJson(member)}`);
  return `{${members.join(',')}}`;
}
