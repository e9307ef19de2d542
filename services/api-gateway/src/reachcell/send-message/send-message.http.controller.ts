import { Body, Controller, HttpCode, Inject, Post, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import { AccountDirectory } from '@reach/accounts';
import { validateReachCellSend } from '@reach/message-domain';
import { ApiError, apiErrors } from '../../http/api-error';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { UnparseableBody } from '../../http/request-body';
import { AcceptMessageHandler } from '../../messages/accept-message.handler';
import { AcceptedMessagesMetric } from '../../messages/accepted-messages.metric';
import { PhoneAvailability } from '../../messages/phone-availability';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config';
import { AccountConcurrencyInterceptor } from '../../limits/account-concurrency.interceptor';
import { IdempotencyInterceptor } from '../../limits/idempotency.interceptor';
import { ReachCellAuthGuard } from '../reachcell-auth.guard';
import { ReachCellErrorFilter } from '../reachcell-error.filter';
import { reachCellTime } from '@reach/read-models';

/** `POST /v1/sms/send`: 202 with `dispatched` when the sending phone is online, else `queued`. */
@Controller('v1/sms')
@UseGuards(ReachCellAuthGuard)
@UseFilters(ReachCellErrorFilter)
@UseInterceptors(AccountConcurrencyInterceptor, IdempotencyInterceptor)
export class SendMessageHttpController {
  constructor(
    private readonly directory: AccountDirectory,
    private readonly phones: PhoneAvailability,
    private readonly acceptor: AcceptMessageHandler,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly acceptedMetric: AcceptedMessagesMetric,
  ) {}

  @Post('send')
  @HttpCode(202)
  async send(@CurrentAccount() account: AuthenticatedAccount, @Body() body: unknown) {
    if (body instanceof UnparseableBody) {
      throw body.reason === 'malformed_json' ? apiErrors.malformedJson() : apiErrors.unsupportedMediaType(body.contentType);
    }
    const validation = validateReachCellSend(body ?? {});
    if (!validation.ok) {
      throw new ApiError(422, 'validation_error', validation.errors.map((e) => e.message).join('; '), {
        fields: validation.errors.map((e) => ({ field: e.field, code: e.code, message: e.message })),
      });
    }
    const { from, to, body: text } = validation.value;
    const number = await this.directory.findNumber(from);
    if (!number || number.accountId !== account.id) {
      throw new ApiError(422, 'number_not_provisioned', `from ${from} is not a number provisioned to this account`, {
        fields: [{ field: 'from', code: 'not_provisioned', message: `${from} is not provisioned to this account` }],
      });
    }
    const online = this.phones.isOnline(from);
    const accepted = await this.acceptor.accept({
      account,
      from,
      to,
      body: text,
      channel: number.channel,
      dialect: 'reachcell',
      validityPeriodSeconds: this.config.DEFAULT_VALIDITY_PERIOD_SECONDS,
      now: new Date(),
    });
    const status = online ? 'dispatched' : 'queued';
    this.acceptedMetric.record('reachcell', status);
    return {
      success: true,
      data: {
        message_id: accepted.messageId,
        from: accepted.from,
        to: accepted.to,
        body: accepted.body,
        status,
        created_at: reachCellTime(new Date(accepted.acceptedAt)),
      },
    };
  }
}
