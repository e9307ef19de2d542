import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AccountDirectory } from '@reach/accounts';
import { reachError } from '@reach/message-domain';
import { addLogFields } from '@reach/telemetry';
import { ACCOUNT_KEY, type AuthenticatedAccount } from '../http/authenticated-account';
import { reachApiError } from './reach-error.filter';

/**
 * Reach authentication (seed 001): `ApiUser` + `ApiKey` headers, the key checked against stored
 * hashes. Content negotiation comes first, since even an error must be answerable as JSON:
 * an Accept header that rules out application/json is 10003 (406). Then a missing header is
 * 20002, a wrong pair 20003 (both 401), a suspended account 20005 (403).
 */
@Injectable()
export class ReachAuthGuard implements CanActivate {
  constructor(private readonly directory: AccountDirectory) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> } & Record<string, unknown>>();
    const accept = header(request.headers['accept']);
    if (accept !== undefined && !acceptsJson(accept)) throw reachApiError(reachError('notAcceptable'));
    const apiUser = header(request.headers['apiuser'])?.trim();
    const apiKey = header(request.headers['apikey'])?.trim();
    if (!apiUser || !apiKey) {
      const missing = [!apiUser && 'ApiUser', !apiKey && 'ApiKey'].filter(Boolean);
      throw reachApiError(reachError('missingAuthHeaders', `Missing ${missing.join(' and ')} header`, { missingHeaders: missing }));
    }
    const account = await this.directory.authenticateApiUser(apiUser, apiKey);
    if (!account) throw reachApiError(reachError('badCredentials'));
    if (account.status !== 'active') throw reachApiError(reachError('appletDeactivated'));
    const authenticated: AuthenticatedAccount = { id: account.id, name: account.name, apiUser: account.apiUser, billing: account.billing };
    request[ACCOUNT_KEY] = authenticated;
    addLogFields({ accountId: account.id });
    return true;
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Whether an Accept header allows application/json: a media range `application/json`,
 * `application/*` or `*\/*` whose q is not 0. An empty header allows anything.
 */
export function acceptsJson(accept: string): boolean {
  if (accept.trim() === '') return true;
  return accept.split(',').some((range) => {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (type !== 'application/json' && type !== 'application/*' && type !== '*/*') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
