import { Controller, HttpCode, Inject, Param, Post, UseFilters, UseGuards } from '@nestjs/common';
import { PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { redeliver } from '@reach/webhooks';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { ReachCellAuthGuard } from '../reachcell-auth.guard';
import { ReachCellErrorFilter } from '../reachcell-error.filter';
import { presentReachCellDelivery } from '../reachcell-delivery.presenter';

/**
 * `POST /v1/deliveries/{delivery_id}/redeliver` → 202 with the delivery, pending and due now; it
 * keeps its id so receivers can de-duplicate. In flight → 409 `delivery_in_flight`; unknown or
 * another account's → 404 (both mapped by the error filter). The request body is ignored.
 */
@Controller('v1/deliveries')
@UseGuards(ReachCellAuthGuard)
@UseFilters(ReachCellErrorFilter)
export class RedeliverDeliveryHttpController {
  constructor(@Inject(PLATFORM) private readonly platform: PlatformConnections) {}

  @Post(':deliveryId/redeliver')
  @HttpCode(202)
  async redeliver(@CurrentAccount() account: AuthenticatedAccount, @Param('deliveryId') deliveryId: string) {
    const delivery = await redeliver(this.platform.db, account.id, deliveryId, new Date());
    return { success: true, data: presentReachCellDelivery(delivery) };
  }
}
