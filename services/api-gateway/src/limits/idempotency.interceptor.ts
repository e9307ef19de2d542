import { HttpStatus, Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { LOGGER, PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { catchError, from, mergeMap, of, throwError, type Observable } from 'rxjs';
import { ApiError } from '../http/api-error';
import { ACCOUNT_KEY, type AuthenticatedAccount } from '../http/authenticated-account';
import {
  abandonIdempotentRequest,
  beginIdempotentRequest,
  completeIdempotentRequest,
  IDEMPOTENCY_KEY_TTL_MS,
  purgeExpiredIdempotencyKeys,
} from './idempotency-keys.repository';
import { hashRequest, parseIdempotencyKey } from './idempotency-request';
import { dialectOf, limitsErrors, RETRY_AFTER_SECONDS } from './limits.errors';

/** Expired keys are swept at most this often, by whichever request comes first after it. */
const PURGE_INTERVAL_MS = 10 * 60 * 1000;

/** A stored refusal: rethrown on replay, so the dialect's filter renders it exactly as the first time. */
interface StoredError {
  readonly code: string;
  readonly message: string;
  readonly details: Record<string, unknown> | null;
  readonly reachCode: number | null;
}

/**
 * `Idempotency-Key` on a POST: the first request with a key is recorded before it runs and its
 * answer (success, or a 4xx refusal) stored after; a retry with the same key and the same request
 * (method, path and query, account, canonical body) gets that answer again without running, marked
 * `Idempotent-Replayed: true`. The same key with a different request is refused
 * (`idempotency_key_reused`: 422 ReachCell, 400 Reach). A retry while the first is still running
 * gets 409 `request_in_progress` with Retry-After rather than waiting. A 5xx (or any unexpected
 * error) forgets the key, so the client may retry it. Keys are kept 24 hours. Requests without the
 * header are untouched. Put it after AccountConcurrencyInterceptor, behind the auth guard.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private nextPurgeAt = 0;

  constructor(
    @Inject(PLATFORM) private readonly platform: Pick<PlatformConnections, 'db'>,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly reflector: Reflector,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & Record<string, unknown>>();
    const header = request.headers['idempotency-key'];
    if (header === undefined) return next.handle();
    const key = parseIdempotencyKey(header);
    if (key === null) throw limitsErrors.invalidIdempotencyKey();
    const account = request[ACCOUNT_KEY] as AuthenticatedAccount | undefined;
    if (!account) throw new Error('IdempotencyInterceptor used on a route without an auth guard');
    const reply = http.getResponse<FastifyReply>();
    const requestHash = hashRequest({ method: request.method, path: request.url, accountId: account.id, body: request.body });
    const now = new Date();
    this.purgeExpiredNowAndThen(now);

    const begun = await beginIdempotentRequest(this.platform.db, { accountId: account.id, key, requestHash, now });
    switch (begun.outcome) {
      case 'replay':
        void reply.header('Idempotent-Replayed', 'true');
        if (begun.responseStatus >= 400) throw storedErrorToApiError(begun.responseStatus, begun.responseBody);
        return of(begun.responseBody);
      case 'mismatch':
        throw limitsErrors.idempotencyKeyReused(dialectOf(request.url));
      case 'in_progress':
        void reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
        throw limitsErrors.requestInProgress(RETRY_AFTER_SECONDS);
      case 'started':
        break;
      default:
        return assertNever(begun);
    }

    const claim = { accountId: account.id, key, claimedAt: begun.claimedAt };
    const successStatus =
      this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ??
      (request.method === 'POST' ? HttpStatus.CREATED : HttpStatus.OK);
    return next.handle().pipe(
      mergeMap(async (body: unknown) => {
        await this.complete(claim, successStatus, body);
        return body;
      }),
      catchError((error: unknown) => from(this.settleFailure(claim, error)).pipe(mergeMap(() => throwError(() => error)))),
    );
  }

  /** The request was performed: its answer must be stored, but failing to store it must not turn a sent message into an error. */
  private async complete(claim: { accountId: string; key: string; claimedAt: Date }, status: number, body: unknown): Promise<void> {
    try {
      await completeIdempotentRequest(this.platform.db, { ...claim, responseStatus: status, responseBody: body, now: new Date() });
    } catch (err) {
      this.logger.error({ err, accountId: claim.accountId }, 'could not store the answer of an idempotent request');
    }
  }

  private async settleFailure(claim: { accountId: string; key: string; claimedAt: Date }, error: unknown): Promise<void> {
    try {
      if (error instanceof ApiError && error.status < 500) {
        const stored: StoredError = { code: error.code, message: error.message, details: error.details, reachCode: error.reachCode };
        await completeIdempotentRequest(this.platform.db, { ...claim, responseStatus: error.status, responseBody: stored, now: new Date() });
      } else {
        await abandonIdempotentRequest(this.platform.db, claim);
      }
    } catch (err) {
      this.logger.error({ err, accountId: claim.accountId }, 'could not settle a failed idempotent request');
    }
  }

  private purgeExpiredNowAndThen(now: Date): void {
    if (now.getTime() < this.nextPurgeAt) return;
    this.nextPurgeAt = now.getTime() + PURGE_INTERVAL_MS;
    purgeExpiredIdempotencyKeys(this.platform.db, new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS)).catch((err: unknown) => {
      this.logger.warn({ err }, 'could not purge expired idempotency keys');
    });
  }
}

function storedErrorToApiError(status: number, body: unknown): ApiError {
  const stored = (body ?? {}) as Partial<StoredError>;
  return new ApiError(
    status,
    typeof stored.code === 'string' ? stored.code : 'bad_request',
    typeof stored.message === 'string' ? stored.message : 'The request was refused',
    stored.details && typeof stored.details === 'object' ? stored.details : null,
    typeof stored.reachCode === 'number' ? stored.reachCode : null,
  );
}

function assertNever(value: never): never {
  throw new Error(`unexpected idempotency outcome ${JSON.stringify(value)}`);
}
