import { isAccountsError } from '@reach/accounts';
import { redactUrl } from '@reach/database';
import { z } from 'zod';

/** An error whose message is already written for the person at the terminal. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);
const LOGIN_REFUSED_CODES = new Set(['28P01', '28000']);

/** Turns a failure to open, create or migrate the database into a message that says what to do. */
export function postgresError(databaseUrl: string, error: unknown): CliError {
  const where = redactUrl(databaseUrl);
  const code = errorCode(error);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return new CliError(
      `cannot reach PostgreSQL at ${where} (${code}): start it ` +
        '(for example `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:17`) or set DATABASE_URL',
      { cause: error },
    );
  }
  if (code !== undefined && LOGIN_REFUSED_CODES.has(code)) {
    return new CliError(`PostgreSQL at ${where} refused the login (${messageOf(error)}): fix the user or password in DATABASE_URL`, {
      cause: error,
    });
  }
  return new CliError(`PostgreSQL at ${where}: ${messageOf(error)}${code ? ` [${code}]` : ''}`, { cause: error });
}

/** One line for stderr, whatever was thrown. */
export function describeError(error: unknown): string {
  if (error instanceof CliError) return error.message;
  if (isAccountsError(error)) return `${error.message} [${error.code}]`;
  if (error instanceof z.ZodError) return error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; ');
  return messageOf(error);
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'string' && error.code !== '') return error.code;
  // Node reports a refused connection to a name with several addresses (localhost: ::1 and
  // 127.0.0.1) as an AggregateError; its parts carry the codes.
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const code = errorCode(inner);
      if (code !== undefined) return code;
    }
  }
  return undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
