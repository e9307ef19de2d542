import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { traceIdsOf } from './trace-context';

/**
 * What every log line written while handling one message (or one request) should carry. Bound
 * to the async work through AsyncLocalStorage, so it follows awaits, timers and callbacks started
 * inside — the dispatcher's channel timers included — without being passed around.
 */
export interface LogFields {
  /** The request's `X-Request-Id` (or one generated for it), carried from hop to hop in event metadata. */
  correlationId?: string;
  messageId?: string;
  accountId?: string;
  deliveryId?: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/**
 * Runs `work` with `fields` as the log context. The object itself is the context, so
 * `addLogFields` inside (an auth guard learning the account) changes what later lines of the
 * same request or message carry.
 */
export function runWithLogFields<T>(fields: LogFields, work: () => T): T {
  return storage.run(fields, work);
}

/** Adds to the current log context; does nothing outside one. */
export function addLogFields(fields: LogFields): void {
  const current = storage.getStore();
  if (current === undefined) return;
  for (const [key, value] of Object.entries(fields) as [keyof LogFields, string | undefined][]) {
    if (value !== undefined) current[key] = value;
  }
}

/**
 * Runs `work` outside any log context and trace: for work that one message's handling starts on
 * behalf of others (a sender's whole backlog), which must not carry that message's ids.
 */
export function runDetached<T>(work: () => T): T {
  return storage.exit(() => context.with(ROOT_CONTEXT, work));
}

export function currentLogFields(): Readonly<LogFields> | undefined {
  return storage.getStore();
}

/**
 * The fields a log line gets from where it is written: the log context, and the trace and span
 * ids of the active span when tracing is on. Used as pino's `mixin`, so it must stay cheap.
 */
export function contextualLogFields(): LogFields & { traceId?: string; spanId?: string } {
  const fields = storage.getStore();
  const ids = traceIdsOf();
  if (ids === null) return fields === undefined ? {} : { ...fields };
  return { ...fields, traceId: ids.traceId, spanId: ids.spanId };
}

/** Only text that is safe to put in a log line and a header travels as a correlation id. */
export function isValidCorrelationId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 128 && /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value);
}
