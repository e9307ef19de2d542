import fc from 'fast-check';
import { parseIsoDateTime } from './iso-date-time';

describe('parseIsoDateTime', () => {
  it.each([
    ['2016-08-31T01:23:45Z', '2016-08-31T01:23:45.000Z', 0],
    ['2016-08-31T01:23:45.001Z', '2016-08-31T01:23:45.001Z', 0],
    ['2016-08-31T01:23Z', '2016-08-31T01:23:00.000Z', 0],
    ['2016-08-31t01:23:45z', '2016-08-31T01:23:45.000Z', 0],
    ['2016-08-31T03:23:45+02:00', '2016-08-31T01:23:45.000Z', 120],
    ['2016-08-31T03:23:45+0200', '2016-08-31T01:23:45.000Z', 120],
    ['2016-08-31T03:23:45+02', '2016-08-31T01:23:45.000Z', 120],
    ['2016-08-30T20:53:45-04:30', '2016-08-31T01:23:45.000Z', -270],
    ['2016-08-31T01:23:45-00:00', '2016-08-31T01:23:45.000Z', 0],
    ['2016-08-31T01:23:45.123456789Z', '2016-08-31T01:23:45.123Z', 0],
    ['2016-08-31T01:23:45.5Z', '2016-08-31T01:23:45.500Z', 0],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z', 0],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z', 0],
  ])('reads %s', (text, iso, offsetMinutes) => {
    const parsed = parseIsoDateTime(text);
    expect(parsed?.instant.toISOString()).toBe(iso);
    expect(parsed?.offsetMinutes).toBe(offsetMinutes);
    expect(parsed?.localDate).toBe(text.slice(0, 10));
  });

  it.each([
    '2016-08-31T01:23:45', // no offset
    '2016-08-31',
    '2016-08-31 01:23:45Z',
    '2023-02-29T00:00:00Z',
    '2016-13-01T00:00:00Z',
    '2016-08-31T24:00:00Z',
    '2016-08-31T23:60:00Z',
    '2016-08-31T23:59:60Z',
    '2016-08-31T01:23:45+24:00',
    '2016-08-31T01:23:45+02:60',
    '2016-08-31T01:23:45.Z',
    '2016-08-31T01:23:45.1234567890Z',
    '16-08-31T01:23:45Z',
    '+02016-08-31T01:23:45Z',
    ' 2016-08-31T01:23:45Z',
    '',
  ])('refuses %j', (text) => {
    expect(parseIsoDateTime(text)).toBeNull();
  });

  it('reads back every instant as Date#toISOString writes it', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (date) => {
        expect(parseIsoDateTime(date.toISOString())?.instant).toEqual(date);
      }),
    );
  });

  it('puts the same instant at the same place whatever offset it is written in', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (date, offset) => {
          const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 23);
          const abs = Math.abs(offset);
          const suffix = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const parsed = parseIsoDateTime(local + suffix);
          expect(parsed?.instant).toEqual(date);
          expect(parsed?.offsetMinutes).toBe(offset);
        },
      ),
    );
  });
});
