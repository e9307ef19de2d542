import pino, { type Logger } from 'pino';
import { contextualLogFields } from '@reach/telemetry';

export type { Logger } from 'pino';

/**
 * Keys whose values are credentials, wherever they appear in a log line's object (top level, or
 * up to two levels down: `req.headers.authorization`, `config.REACH_API_KEY_SECRET`).
 */
const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'apikey',
  'apiKey',
  'ApiKey',
  '"api-key"',
  '"Api-Key"',
  '"x-api-key"',
  '"X-Api-Key"',
  'cookie',
  'secret',
  'webhookSecret',
  'signingKey',
  'password',
  'apiKeySecret',
  'REACH_API_KEY_SECRET',
];

export const REDACTED_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const step = key.startsWith('"') ? `[${key}]` : `.${key}`;
  return [step.startsWith('.') ? key : step, `*${step}`, `*.*${step}`];
});

/**
 * One structured JSON logger per process; children carry the component name. Every line also
 * carries the log context of the work it is written from (correlationId, messageId, accountId,
 * deliveryId) and, when tracing is on, the active traceId/spanId, so a message's lines can be
 * found across services and next to its trace.
 */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: service,
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: contextualLogFields,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
