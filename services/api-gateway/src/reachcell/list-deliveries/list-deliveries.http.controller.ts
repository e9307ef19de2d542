import { Controller, Get, Inject, Param, Query, UseFilters, UseGuards } from '@nestjs/common';
import { PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { findWebhook, listDeliveries } from '@reach/webhooks';
import { ApiError, apiErrors } from '../../http/api-error';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { MessageReader } from '../../messages/message-reader';
import { ReachCellAuthGuard } from '../reachcell-auth.guard';
import { ReachCellErrorFilter } from '../reachcell-error.filter';
import { presentReachCellDelivery } from '../reachcell-delivery.presenter';
import { validateDeliveryListQuery, type DeliveryListQuery } from './list-deliveries.query';

/**
 * The deliveries of one webhook (`GET /v1/webhooks/{id}/deliveries`) or of one message, status
 * callbacks and webhook calls alike (`GET /v1/sms/{message_id}/deliveries`): newest first, paged
 * like `GET /v1/sms`. The webhook or message must be the account's own (else 404, as if unknown),
 * so an empty page always means "nothing delivered yet", never "not yours".
 */
@Controller('v1')
@UseGuards(ReachCellAuthGuard)
@UseFilters(ReachCellErrorFilter)
export class ListDeliveriesHttpController {
  constructor(
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    private readonly messages: MessageReader,
  ) {}

  @Get('webhooks/:webhookId/deliveries')
  async ofWebhook(@CurrentAccount() account: AuthenticatedAccount, @Param('webhookId') webhookId: string, @Query() query: Record<string, unknown>) {
    const q = parseQuery(query);
    const webhook = await findWebhook(this.platform.db, account.id, webhookId);
    if (!webhook) throw apiErrors.notFound('Webhook');
    return this.page(account, { webhookId: webhook.id }, q);
  }

  @Get('sms/:messageId/deliveries')
  async ofMessage(@CurrentAccount() account: AuthenticatedAccount, @Param('messageId') messageId: string, @Query() query: Record<string, unknown>) {
    const q = parseQuery(query);
    const message = await this.messages.find(account.id, messageId);
    if (!message) throw apiErrors.notFound();
    return this.page(account, { messageId: message.messageId }, q);
  }

  private async page(account: AuthenticatedAccount, target: { webhookId: string } | { messageId: string }, q: DeliveryListQuery) {
    const { total, deliveries } = await listDeliveries(this.platform.db, {
      accountId: account.id,
      ...target,
      ...(q.state !== undefined && { state: q.state }),
      page: q.page,
      perPage: q.perPage,
    });
    return {
      success: true,
      data: deliveries.map(presentReachCellDelivery),
      meta: { total, page: q.page, per_page: q.perPage, total_pages: Math.ceil(total / q.perPage) },
    };
  }
}

function parseQuery(query: Record<string, unknown> | undefined): DeliveryListQuery {
  const validation = validateDeliveryListQuery(query ?? {});
  if (!validation.ok) {
    throw new ApiError(400, 'invalid_parameter', validation.errors.map((e) => e.message).join('; '), {
      fields: validation.errors.map((e) => ({ field: e.field, code: e.code, message: e.message })),
    });
  }
  return validation.value;
}
