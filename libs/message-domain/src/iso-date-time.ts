import { isCalendarDate } from './send-request';

/**
 * ISO-8601 date-times as the Reach dialect's clients send them: the official clients write
 * `YYYY-MM-DDTHH:mm:ssZ` (with `.SSS` when the milliseconds are not zero), people write offsets.
 *
 * Accepted: `YYYY-MM-DDTHH:mm`, optional `:ss`, optional fraction of 1–9 digits, then `Z` or an
 * offset `±HH:MM`, `±HHMM` or `±HH`. `T` and `Z` may be lower case (RFC 3339 allows it). An offset
 * is required: a local time means a different instant on every server. Every field must exist
 * on the calendar and clock (no 2026-02-30, 24:00 or leap second 60). The fraction is truncated
 * to milliseconds, the precision of a Date.
 */
const ISO_DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)$/i;

export interface IsoDateTime {
  /** The instant. */
  readonly instant: Date;
  /** The calendar date as written (local to `offsetMinutes`), YYYY-MM-DD. */
  readonly localDate: string;
  /** The offset as written, in minutes east of UTC (`Z` is 0). */
  readonly offsetMinutes: number;
}

export function parseIsoDateTime(text: string): IsoDateTime | null {
  const match = ISO_DATE_TIME.exec(text);
  if (match === null) return null;
  const [, localDate = '', hh = '', mm = '', ss = '0', fraction = '', zulu, sign, offH = '0', offM = '0'] = match;
  if (!isCalendarDate(localDate)) return null;
  const [hours, minutes, seconds, offsetHours, offsetMins] = [hh, mm, ss, offH, offM].map(Number) as [number, number, number, number, number];
  if (hours > 23 || minutes > 59 || seconds > 59 || offsetHours > 23 || offsetMins > 59) return null;
  const magnitude = zulu !== undefined ? 0 : offsetHours * 60 + offsetMins;
  // -00:00 (RFC 3339: "offset unknown") is UTC, and 0, not -0.
  const offsetMinutes = sign === '-' && magnitude !== 0 ? -magnitude : magnitude;
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const instant = new Date(startOfDayUtcMs(localDate) + ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis - offsetMinutes * 60_000);
  return { instant, localDate, offsetMinutes };
}

/** The instant a calendar day (YYYY-MM-DD, already checked by `isCalendarDate`) starts in UTC. */
export function startOfDayUtcMs(date: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const at = new Date(0);
  // Not Date.UTC: it maps years 0–99 to 1900–1999.
  at.setUTCFullYear(year, month - 1, day);
  return at.getTime();
}

export const DAY_MS = 24 * 60 * 60 * 1000;
