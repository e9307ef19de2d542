import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { finalize, type Observable } from 'rxjs';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { ACCOUNT_KEY, type AuthenticatedAccount } from '../http/authenticated-account';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { limitsErrors, RETRY_AFTER_SECONDS } from './limits.errors';

/**
 * At most `ACCOUNT_CONCURRENCY_LIMIT` requests per account in flight through the routes that use
 * this interceptor; one more answers 429 with `Retry-After` (set here on the reply, so every
 * dialect's filter sends it). Runs after the dialect's auth guard, which names the account.
 *
 * The slot is given back when the handler's answer is settled (value, error or unsubscribe), so a
 * failing request never leaks one. Nest creates one instance of an interceptor per module that
 * uses it, so every controller of the gateway module shares this limiter: the limit is per
 * account and per gateway process (with several replicas, per replica).
 */
@Injectable()
export class AccountConcurrencyInterceptor implements NestInterceptor {
  readonly limiter: ConcurrencyLimiter;

  constructor(@Inject(GATEWAY_CONFIG) config: Pick<GatewayConfig, 'ACCOUNT_CONCURRENCY_LIMIT'>) {
    this.limiter = new ConcurrencyLimiter(config.ACCOUNT_CONCURRENCY_LIMIT);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & Record<string, unknown>>();
    const account = request[ACCOUNT_KEY] as AuthenticatedAccount | undefined;
    if (!account) throw new Error('AccountConcurrencyInterceptor used on a route without an auth guard');
    const release = this.limiter.tryAcquire(account.id);
    if (!release) {
      void http.getResponse<FastifyReply>().header('Retry-After', String(RETRY_AFTER_SECONDS));
      throw limitsErrors.tooManyRequests(RETRY_AFTER_SECONDS);
    }
    return next.handle().pipe(finalize(release));
  }
}
