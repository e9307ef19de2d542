import { reachError } from '@reach/message-domain';
import { ApiError } from '../http/api-error';
import { reachApiError, reachErrorBody } from './reach-error.filter';

describe('the Reach error body', () => {
  it('carries the validation error with its code and a docs link', () => {
    const body = reachErrorBody(reachApiError(reachError('badDest', 'dest is wrong', { param: 'dest' })), 'https://docs.test/errors/');
    expect(body).toEqual({ status: 400, errorCode: 20101, errorMessage: 'dest is wrong', errorDetails: { param: 'dest' }, more_info: 'https://docs.test/errors/20101' });
  });

  it('gives errors without a Reach code the closest one for their status', () => {
    const docs = 'https://d/';
    expect(reachErrorBody(new ApiError(404, 'not_found', 'No route'), docs).errorCode).toBe(20404);
    expect(reachErrorBody(new ApiError(429, 'rate_limited', 'slow down'), docs).errorCode).toBe(20429);
    expect(reachErrorBody(new ApiError(413, 'payload_too_large', 'big'), docs).errorCode).toBe(10002);
    expect(reachErrorBody(new ApiError(500, 'internal_error', 'oops'), docs)).toMatchObject({ status: 500, errorCode: 20500, errorDetails: null });
  });
});
