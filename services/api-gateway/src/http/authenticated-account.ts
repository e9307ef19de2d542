import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { BillingTerms } from '@reach/contracts';

export interface AuthenticatedAccount {
  readonly id: string;
  readonly name: string;
  readonly apiUser: string;
  readonly billing: BillingTerms;
}

export const ACCOUNT_KEY = 'reachAccount';

/** The account the request's credentials belong to (set by the dialect's auth guard). */
export const CurrentAccount = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthenticatedAccount => {
  const request = ctx.switchToHttp().getRequest<Record<string, unknown>>();
  const account = request[ACCOUNT_KEY];
  if (!account) throw new Error('CurrentAccount used on a route without an auth guard');
  return account as AuthenticatedAccount;
});
