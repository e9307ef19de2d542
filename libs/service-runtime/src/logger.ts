import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** One structured JSON logger per process; children carry the component name. */
export function createLogger(service: string, level: string): Logger {
  return pino({
    name: service,
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'req.headers.apikey', 'apiKey', '*.apiKey'], censor: '[redacted]' },
  });
}
