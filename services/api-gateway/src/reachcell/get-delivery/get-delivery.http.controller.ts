import { Controller, Get, Inject, Param, UseFilters, UseGuards } from '@nestjs/common';
import { PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { findDelivery } from '@reach/webhooks';
import { apiErrors } from '../../http/api-error';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { ReachCellAuthGuard } from '../reachcell-auth.guard';
import { ReachCellErrorFilter } from '../reachcell-error.filter';
import { presentReachCellDelivery } from '../reachcell-delivery.presenter';

/** `GET /v1/deliveries/{delivery_id}`: one delivery with its attempt log; another account's id is a 404 like an unknown one. */
@Controller('v1/deliveries')
@UseGuards(ReachCellAuthGuard)
@UseFilters(ReachCellErrorFilter)
export class GetDeliveryHttpController {
  constructor(@Inject(PLATFORM) private readonly platform: PlatformConnections) {}

  @Get(':deliveryId')
  async get(@CurrentAccount() account: AuthenticatedAccount, @Param('deliveryId') deliveryId: string) {
    const delivery = await findDelivery(this.platform.db, account.id, deliveryId);
    if (!delivery) throw apiErrors.notFound('Delivery');
    return { success: true, data: presentReachCellDelivery(delivery) };
  }
}
