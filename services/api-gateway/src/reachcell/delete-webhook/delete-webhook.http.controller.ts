import { Controller, Delete, HttpCode, Inject, Param, UseFilters, UseGuards } from '@nestjs/common';
import { PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { deleteWebhook } from '@reach/webhooks';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { ReachCellAuthGuard } from '../reachcell-auth.guard';
import { ReachCellErrorFilter } from '../reachcell-error.filter';

/**
 * `DELETE /v1/webhooks/{id}`: nothing more is sent to it and its pending deliveries are canceled.
 * Unknown, already deleted and another account's ids all answer 404 `not_found`, alike.
 */
@Controller('v1/webhooks')
@UseGuards(ReachCellAuthGuard)
@UseFilters(ReachCellErrorFilter)
export class DeleteWebhookHttpController {
  constructor(@Inject(PLATFORM) private readonly platform: PlatformConnections) {}

  @Delete(':webhookId')
  @HttpCode(200)
  async delete(@CurrentAccount() account: AuthenticatedAccount, @Param('webhookId') webhookId: string) {
    await deleteWebhook(this.platform.db, account.id, webhookId, new Date());
    return { success: true, data: { id: webhookId.toLowerCase(), deleted: true } };
  }
}
