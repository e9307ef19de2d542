import type { AccountsTable } from '@reach/database';
import type { Insertable } from 'kysely';

/**
 * `@reach/database` declares `created_at` as `Generated<ColumnType<Date, …>>`, which kysely reads
 * as a column whose select and insert types are the ColumnType wrapper itself rather than `Date`.
 * These two functions confine the workaround to one place and stay correct once the table types
 * say `ColumnType<Date, Date | string | undefined, Date | string>`.
 */
type TimestampInsert = Insertable<AccountsTable>['created_at'];

export function timestampValue(date: Date): TimestampInsert {
  return date as unknown as TimestampInsert;
}

/** pg returns `timestamptz` as a Date; anything else means the driver is configured differently. */
export function readTimestamp(value: unknown): Date {
  if (value instanceof Date) return value;
  throw new TypeError(`expected a timestamp from PostgreSQL, got ${typeof value}`);
}

