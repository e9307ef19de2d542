import { http, newAccountWithNumber, TO, withDatabase, type TestAccount, type ListBody } from './support';

describe('ReachCell: bad input gets a clear error and leaves nothing behind', () => {
  let account: TestAccount;

  beforeAll(async () => {
    account = await newAccountWithNumber();
  });

  const eventCount = () => withDatabase(async (db) => Number((await db.query('select count(*) from events')).rows[0].count));

  const badSends: Array<[string, { json?: unknown; rawBody?: string; contentType?: string }, number, string]> = [
    ['malformed JSON', { rawBody: '{"from": "+14155552671",' }, 400, 'invalid_json'],
    ['a JSON array', { json: [1, 2] }, 422, 'validation_error'],
    ['form encoding', { rawBody: 'from=%2B1&to=%2B1&body=x', contentType: 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
    ['no fields at all', { json: {} }, 422, 'validation_error'],
    ['missing body', { json: { from: '+14155552671', to: TO } }, 422, 'validation_error'],
    ['a number without +', { json: { from: '+14155552671', to: '4155553000', body: 'x' } }, 422, 'validation_error'],
    ['an invalid number', { json: { from: '+14155552671', to: '+1234', body: 'x' } }, 422, 'validation_error'],
    ['a number with spaces', { json: { from: '+14155552671', to: '+1 415 555 3000', body: 'x' } }, 422, 'validation_error'],
    ['an empty body', { json: { from: '+14155552671', to: TO, body: '' } }, 422, 'validation_error'],
    ['a body of 1601 characters', { json: { from: '+14155552671', to: TO, body: 'a'.repeat(1601) } }, 422, 'validation_error'],
    ['a body that is not text', { json: { from: '+14155552671', to: TO, body: 42 } }, 422, 'validation_error'],
  ];

  it.each(badSends)('refuses %s', async (_name, request, status, code) => {
    const before = await eventCount();
    const response = await http('POST', '/v1/sms/send', { key: account.apiKey, ...request });
    expect(response.status).toBe(status);
    expect(response.body.success).toBe(false);
    expect(response.body.error.code).toBe(code);
    expect(typeof response.body.error.message).toBe('string');
    expect(await eventCount()).toBe(before);
  });

  it('refuses a from number that is not provisioned to the account', async () => {
    const before = await eventCount();
    const response = await http('POST', '/v1/sms/send', { key: account.apiKey, json: { from: '+14155550199', to: TO, body: 'x' } });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('number_not_provisioned');
    expect(await eventCount()).toBe(before);
  });

  it('accepts exactly 1600 characters', async () => {
    const response = await http('POST', '/v1/sms/send', { key: account.apiKey, json: { from: account.number, to: TO, body: 'a'.repeat(1600) } });
    expect(response.status).toBe(202);
  });

  it.each([
    ['no Authorization header', undefined],
    ['a key that does not exist', 'ak_doesnotexist0000000000000000000000000000'],
    ['a malformed header', 'not-a-key'],
  ])('answers 401 for %s', async (_name, key) => {
    const response = await http<ListBody>('GET', '/v1/sms', key ? { headers: { authorization: `Bearer ${key}` } } : {});
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ success: false, error: { code: 'unauthorized' } });
  });

  it.each(['page=0', 'page=-1', 'page=abc', 'page=1.5', 'per_page=0', 'per_page=1000', 'per_page=x', 'page=1&page=2', 'status=nope', 'direction=sideways', 'from_date=2026-02-30', 'from_date=yesterday', 'from_date=2026-05-02&to_date=2026-05-01', 'number=4155552671'])(
    'answers 400 for the list query %s',
    async (query) => {
      const response = await http<ListBody>('GET', `/v1/sms?${query}`, { key: account.apiKey });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ success: false, error: { code: 'invalid_parameter' } });
    },
  );

  it('answers 404 for unknown and malformed message ids', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '123']) {
      const response = await http('GET', `/v1/sms/${id}`, { key: account.apiKey });
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ success: false, error: { code: 'not_found', message: 'Message not found' } });
    }
  });
});
