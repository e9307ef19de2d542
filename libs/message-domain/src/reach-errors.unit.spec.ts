import { reachError, reachErrorByCode, reachErrorCodes } from './reach-errors';

describe('reachErrorCodes', () => {
  it('holds every code PRODUCT.md lists, plus 20301, 20302, 20404, 20429 and 20500, each once', () => {
    const codes = Object.values(reachErrorCodes).map((entry) => entry.code);
    expect([...codes].sort()).toEqual([
      10002, 10003, 20002, 20003, 20005, 20006, 20007, 20101, 20102, 20103, 20104, 20105, 20106, 20107, 20108, 20109, 20201, 20202,
      20301, 20302, 20404, 20429, 20500,
    ]);
  });

  it('answers validation errors with 400', () => {
    for (const name of ['missingRequestData', 'badPageSize', 'badPage', 'badDest', 'badSrc', 'badBody', 'badScheduledTime'] as const) {
      expect(reachErrorCodes[name].status).toBe(400);
    }
    for (const code of [20101, 20102, 20103, 20104, 20105, 20106, 20107, 20108, 20109]) expect(reachErrorByCode(code)?.status).toBe(400);
  });

  it.each([
    [10003, 406],
    [20002, 401],
    [20003, 401],
    [20005, 403],
    [20202, 402],
    [20404, 404],
    [20429, 429],
  ])('answers %d with HTTP %d', (code, status) => {
    expect(reachErrorByCode(code)?.status).toBe(status);
  });

  it('gives every code a non-empty default message', () => {
    for (const entry of Object.values(reachErrorCodes)) expect(entry.message.length).toBeGreaterThan(0);
  });
});

describe('reachError', () => {
  it('uses the default message and no details unless given', () => {
    expect(reachError('badPage')).toEqual({ status: 400, errorCode: 20007, errorMessage: 'Invalid page', errorDetails: null });
    expect(reachError('badDest', 'dest is wrong', { param: 'dest' })).toEqual({
      status: 400,
      errorCode: 20101,
      errorMessage: 'dest is wrong',
      errorDetails: { param: 'dest' },
    });
  });
});

describe('reachErrorByCode', () => {
  it('finds an entry by its number, and nothing for an unknown one', () => {
    expect(reachErrorByCode(20201)).toEqual({ name: 'costAboveMaxPrice', status: 400, message: 'The message costs more than maxPrice' });
    expect(reachErrorByCode(30001)).toBeNull();
  });
});
