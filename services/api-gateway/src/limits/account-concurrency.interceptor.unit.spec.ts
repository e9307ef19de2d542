import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { lastValueFrom, Subject, throwError } from 'rxjs';
import { ApiError } from '../http/api-error';
import { ACCOUNT_KEY } from '../http/authenticated-account';
import { AccountConcurrencyInterceptor } from './account-concurrency.interceptor';

function contextFor(accountId: string | null, url = '/v1/sms/send') {
  const headers: Record<string, string> = {};
  const request: Record<string, unknown> = { url, headers: {} };
  if (accountId) request[ACCOUNT_KEY] = { id: accountId };
  const reply = {
    header(name: string, value: string) {
      headers[name] = value;
      return reply;
    },
  };
  const context = { switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }) } as unknown as ExecutionContext;
  return { context, headers };
}

/** A handler that answers when the test says so. */
function pendingHandler() {
  const answer = new Subject<unknown>();
  const handler: CallHandler = { handle: () => answer.asObservable() };
  return { handler, finish: () => { answer.next({ ok: true }); answer.complete(); } };
}

describe('AccountConcurrencyInterceptor', () => {
  it('lets `limit` requests of an account through and answers the next with 429 and Retry-After', async () => {
    const interceptor = new AccountConcurrencyInterceptor({ ACCOUNT_CONCURRENCY_LIMIT: 2 });
    const running = [pendingHandler(), pendingHandler()];
    const results = running.map((r) => lastValueFrom(interceptor.intercept(contextFor('a').context, r.handler)));

    const third = contextFor('a');
    let refusal: unknown;
    try {
      interceptor.intercept(third.context, pendingHandler().handler);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal).toMatchObject({ status: 429, code: 'rate_limited', details: { retryAfterSeconds: 1 }, reachCode: 20429 });
    expect(third.headers).toEqual({ 'Retry-After': '1' });

    running.forEach((r) => r.finish());
    await Promise.all(results);
    expect(interceptor.limiter.inFlightFor('a')).toBe(0);
  });

  it('gives the slot back when the handler fails', async () => {
    const interceptor = new AccountConcurrencyInterceptor({ ACCOUNT_CONCURRENCY_LIMIT: 1 });
    const failing: CallHandler = { handle: () => throwError(() => new Error('boom')) };
    await expect(lastValueFrom(interceptor.intercept(contextFor('a').context, failing))).rejects.toThrow('boom');
    expect(interceptor.limiter.inFlightFor('a')).toBe(0);
  });

  it('refuses to run on a route without an authenticated account', () => {
    const interceptor = new AccountConcurrencyInterceptor({ ACCOUNT_CONCURRENCY_LIMIT: 1 });
    expect(() => interceptor.intercept(contextFor(null).context, pendingHandler().handler)).toThrow(/auth guard/);
  });
});
