import type { FastifyInstance } from 'fastify';

/** Marks a body that could not be parsed, so the use case answers in its dialect's error format. */
export class UnparseableBody {
  constructor(readonly reason: 'malformed_json' | 'unsupported_media_type', readonly contentType: string) {}
}

/** Routes of the Reach dialect, which also takes form-encoded bodies (PRODUCT.md §2). */
export const REACH_PATH_PREFIX = '/rest/';

export function isReachPath(url: string): boolean {
  return url.startsWith(REACH_PATH_PREFIX);
}

/** A form body's parameters: a repeated name becomes a string[] (the Reach validators refuse it). */
export type FormParams = Record<string, string | string[]>;

/**
 * Parses `application/x-www-form-urlencoded` text into a plain object (`+` is a space, percent
 * escapes are decoded as UTF-8). Own properties only: a parameter named `__proto__` is a
 * parameter like any other, never the object's prototype.
 */
export function parseFormBody(text: string): FormParams {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  return Object.fromEntries([...values].map(([name, list]) => [name, list.length === 1 ? list[0]! : list]));
}

/**
 * Body parsing that never throws before our handlers run: a malformed JSON body becomes an
 * UnparseableBody value and each dialect turns it into its own 400/415 body. Form bodies are
 * parsed on Reach routes only; ReachCell keeps answering 415 for anything but JSON.
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    const raw = String(text);
    if (raw.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(raw));
    } catch {
      done(null, new UnparseableBody('malformed_json', 'application/json'));
    }
  });
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, text, done) => {
    if (!isReachPath(req.url)) return done(null, new UnparseableBody('unsupported_media_type', String(req.headers['content-type'] ?? '')));
    done(null, parseFormBody(String(text)));
  });
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (req, _text, done) => {
    done(null, new UnparseableBody('unsupported_media_type', String(req.headers['content-type'] ?? '')));
  });
}
