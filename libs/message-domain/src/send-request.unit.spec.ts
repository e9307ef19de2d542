import { isCalendarDate, validateReachCellListQuery, validateReachCellSend } from './send-request';

const valid = { from: '+14155552671', to: '+14155553000', body: 'Your verification code is 482910' };

function errorsOf(result: ReturnType<typeof validateReachCellSend>) {
  if (result.ok) throw new Error('expected errors');
  return result.errors.map(({ field, code }) => ({ field, code }));
}

describe('validateReachCellSend', () => {
  it('accepts the seed request', () => {
    expect(validateReachCellSend(valid)).toEqual({ ok: true, value: valid });
  });

  it('accepts a Cameroon destination and ignores unknown fields', () => {
    expect(validateReachCellSend({ ...valid, to: '+237671234567', extra: 1 })).toEqual({
      ok: true,
      value: { ...valid, to: '+237671234567' },
    });
  });

  it.each([null, 'text', 42, true, [], [valid]])('refuses a request that is not an object: %j', (input) => {
    expect(errorsOf(validateReachCellSend(input))).toEqual([{ field: '', code: 'invalid_type' }]);
  });

  it('reports every missing field at once, in field order', () => {
    expect(errorsOf(validateReachCellSend({}))).toEqual([
      { field: 'from', code: 'missing' },
      { field: 'to', code: 'missing' },
      { field: 'body', code: 'missing' },
    ]);
  });

  it('treats null as missing', () => {
    expect(errorsOf(validateReachCellSend({ ...valid, to: null }))).toEqual([{ field: 'to', code: 'missing' }]);
  });

  it.each([
    ['from', 14155552671],
    ['to', ['+14155553000']],
    ['body', 482910],
    ['body', { text: 'hi' }],
  ])('refuses %s of the wrong type (%j)', (field, value) => {
    expect(errorsOf(validateReachCellSend({ ...valid, [field]: value }))).toEqual([{ field, code: 'invalid_type' }]);
  });

  it.each(['4155552671', '+1 415 555 2671', '+1-415-555-2671', '+1234', '+15555555555', ''])(
    'refuses numbers that are not valid E.164: %j',
    (number) => {
      expect(errorsOf(validateReachCellSend({ ...valid, from: number, to: number }))).toEqual([
        { field: 'from', code: 'invalid_number' },
        { field: 'to', code: 'invalid_number' },
      ]);
    },
  );

  it('refuses an empty body', () => {
    expect(errorsOf(validateReachCellSend({ ...valid, body: '' }))).toEqual([{ field: 'body', code: 'empty' }]);
  });

  it('accepts a whitespace-only body (1 character is 1 character)', () => {
    expect(validateReachCellSend({ ...valid, body: ' ' }).ok).toBe(true);
  });

  it('accepts 1600 characters and refuses 1601', () => {
    expect(validateReachCellSend({ ...valid, body: 'a'.repeat(1600) }).ok).toBe(true);
    expect(errorsOf(validateReachCellSend({ ...valid, body: 'a'.repeat(1601) }))).toEqual([{ field: 'body', code: 'too_long' }]);
  });

  it('counts characters as code points: 1600 emoji (3200 UTF-16 units) are 1600 characters', () => {
    expect(validateReachCellSend({ ...valid, body: '😀'.repeat(1600) }).ok).toBe(true);
    expect(errorsOf(validateReachCellSend({ ...valid, body: '😀'.repeat(1601) }))).toEqual([{ field: 'body', code: 'too_long' }]);
  });

  it('refuses a body with a lone surrogate', () => {
    expect(errorsOf(validateReachCellSend({ ...valid, body: 'hi \ud83d' }))).toEqual([{ field: 'body', code: 'not_encodable' }]);
  });

  it('gives a readable message with each error', () => {
    const result = validateReachCellSend({ ...valid, from: '+1234' });
    expect(result).toEqual({
      ok: false,
      errors: [{ field: 'from', code: 'invalid_number', message: expect.stringContaining('E.164') }],
    });
  });
});

function queryErrorsOf(result: ReturnType<typeof validateReachCellListQuery>) {
  if (result.ok) throw new Error('expected errors');
  return result.errors.map(({ field, code }) => ({ field, code }));
}

describe('validateReachCellListQuery', () => {
  it('defaults page 1 and per_page 20', () => {
    expect(validateReachCellListQuery({})).toEqual({ ok: true, value: { page: 1, perPage: 20 } });
  });

  it('reads every filter', () => {
    expect(
      validateReachCellListQuery({
        number: '+14155552671',
        direction: 'inbound',
        status: 'delivered',
        from_date: '2026-06-01',
        to_date: '2026-06-08',
        page: '3',
        per_page: '50',
      }),
    ).toEqual({
      ok: true,
      value: {
        number: '+14155552671',
        direction: 'inbound',
        status: 'delivered',
        fromDate: '2026-06-01',
        toDate: '2026-06-08',
        page: 3,
        perPage: 50,
      },
    });
  });

  it('ignores unknown parameters and treats empty values as absent', () => {
    expect(validateReachCellListQuery({ sort: 'asc', status: '', page: '' })).toEqual({ ok: true, value: { page: 1, perPage: 20 } });
  });

  it.each([
    [{ page: '0' }, 'page', 'out_of_range'],
    [{ page: 'abc' }, 'page', 'invalid_value'],
    [{ page: '-1' }, 'page', 'invalid_value'],
    [{ page: '1.5' }, 'page', 'invalid_value'],
    [{ page: ' 1' }, 'page', 'invalid_value'],
    [{ page: '1000000001' }, 'page', 'out_of_range'],
    [{ page: '99999999999999999999999' }, 'page', 'out_of_range'],
    [{ per_page: '0' }, 'per_page', 'out_of_range'],
    [{ per_page: '101' }, 'per_page', 'out_of_range'],
    [{ per_page: '1000' }, 'per_page', 'out_of_range'],
    [{ per_page: 'ten' }, 'per_page', 'invalid_value'],
    [{ direction: 'both' }, 'direction', 'invalid_value'],
    [{ direction: 'Inbound' }, 'direction', 'invalid_value'],
    [{ status: 'canceled' }, 'status', 'invalid_value'],
    [{ status: 'accepted' }, 'status', 'invalid_value'],
    [{ number: '4155552671' }, 'number', 'invalid_number'],
    [{ number: '+1 415 555 2671' }, 'number', 'invalid_number'],
    [{ number: 'ACME' }, 'number', 'invalid_number'],
    [{ from_date: '2026-6-1' }, 'from_date', 'invalid_date'],
    [{ from_date: '2026-02-30' }, 'from_date', 'invalid_date'],
    [{ to_date: '2026-13-01' }, 'to_date', 'invalid_date'],
    [{ to_date: '2026-06-08T00:00:00Z' }, 'to_date', 'invalid_date'],
    [{ from_date: '2026-06-08', to_date: '2026-06-07' }, 'to_date', 'out_of_range'],
    [{ status: ['sent', 'failed'] }, 'status', 'repeated'],
    [{ page: ['1', '2'] }, 'page', 'repeated'],
    [{ number: ['+14155552671'] }, 'number', 'repeated'],
    [{ page: 2 }, 'page', 'invalid_type'],
  ])('refuses %j', (query, field, code) => {
    expect(queryErrorsOf(validateReachCellListQuery(query))).toEqual([{ field, code }]);
  });

  it('accepts the bounds of page and per_page', () => {
    expect(validateReachCellListQuery({ page: '1', per_page: '1' })).toEqual({ ok: true, value: { page: 1, perPage: 1 } });
    expect(validateReachCellListQuery({ page: '1000000000', per_page: '100' })).toEqual({
      ok: true,
      value: { page: 1_000_000_000, perPage: 100 },
    });
  });

  it('accepts every ReachCell status word and both directions', () => {
    for (const status of ['queued', 'dispatched', 'sent', 'delivered', 'failed', 'received']) {
      expect(validateReachCellListQuery({ status }).ok).toBe(true);
    }
    expect(validateReachCellListQuery({ direction: 'outbound' }).ok).toBe(true);
  });

  it('accepts from_date equal to to_date and a leap day', () => {
    expect(validateReachCellListQuery({ from_date: '2028-02-29', to_date: '2028-02-29' }).ok).toBe(true);
  });

  it('reads a space where the + was (an unencoded + in a query string decodes to a space)', () => {
    expect(validateReachCellListQuery({ number: ' 14155552671' })).toEqual({ ok: true, value: { number: '+14155552671', page: 1, perPage: 20 } });
  });

  it('matches numbers by E.164 shape only, so stored numbers the metadata no longer knows stay findable', () => {
    expect(validateReachCellListQuery({ number: '+15555555555' }).ok).toBe(true);
  });

  it('reports all errors together', () => {
    expect(queryErrorsOf(validateReachCellListQuery({ direction: 'x', page: '0', per_page: '1000' }))).toEqual([
      { field: 'direction', code: 'invalid_value' },
      { field: 'page', code: 'out_of_range' },
      { field: 'per_page', code: 'out_of_range' },
    ]);
  });
});

describe('isCalendarDate', () => {
  it.each(['2026-01-01', '2026-12-31', '2024-02-29', '2000-02-29', '0000-02-29', '0099-01-31'])('accepts %s', (d) =>
    expect(isCalendarDate(d)).toBe(true),
  );
  it.each(['2026-02-29', '1900-02-29', '2026-04-31', '2026-00-10', '2026-01-00', '2026-01-32', '26-01-01', '2026/01/01', ''])(
    'refuses %s',
    (d) => expect(isCalendarDate(d)).toBe(false),
  );
});
