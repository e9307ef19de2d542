import { Controller, Get, Inject, UseFilters, UseGuards } from '@nestjs/common';
import { PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { listWebhooks } from '@reach/webhooks';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { ReachCellAuthGuard } from '../reachcell-auth.guard';
import { ReachCellErrorFilter } from '../reachcell-error.filter';
import { presentReachCellWebhook } from '../reachcell-webhook.presenter';

/** `GET /v1/webhooks`: the account's endpoints, oldest first, never their secrets. */
@Controller('v1/webhooks')
@UseGuards(ReachCellAuthGuard)
@UseFilters(ReachCellErrorFilter)
export class ListWebhooksHttpController {
  constructor(@Inject(PLATFORM) private readonly platform: PlatformConnections) {}

  @Get()
  async list(@CurrentAccount() account: AuthenticatedAccount) {
    const webhooks = await listWebhooks(this.platform.db, account.id);
    return { success: true, data: webhooks.map(presentReachCellWebhook) };
  }
}
