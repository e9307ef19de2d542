import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AccountDirectory } from '@reach/accounts';
import { addLogFields } from '@reach/telemetry';
import { apiErrors } from '../http/api-error';
import { ACCOUNT_KEY, type AuthenticatedAccount } from '../http/authenticated-account';

/** ReachCell authentication: `Authorization: Bearer ak_…`, checked against stored key hashes. */
@Injectable()
export class ReachCellAuthGuard implements CanActivate {
  constructor(private readonly directory: AccountDirectory) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> } & Record<string, unknown>>();
    const header = request.headers['authorization'];
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw apiErrors.unauthorized('Send your API key as "Authorization: Bearer ak_…"');
    const account = await this.directory.authenticateBearer(match[1]!);
    if (!account) throw apiErrors.unauthorized('Invalid API key');
    if (account.status !== 'active') throw apiErrors.suspended();
    const authenticated: AuthenticatedAccount = { id: account.id, name: account.name, apiUser: account.apiUser, billing: account.billing };
    request[ACCOUNT_KEY] = authenticated;
    addLogFields({ accountId: account.id });
    return true;
  }
}
