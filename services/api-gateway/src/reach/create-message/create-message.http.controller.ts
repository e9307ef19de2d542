import { randomUUID } from 'node:crypto';
import { Body, Controller, HttpCode, Inject, Post, Query, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import { AccountDirectory, isAccountsError, refundReservation, reserveFunds } from '@reach/accounts';
import type { ChannelKind } from '@reach/contracts';
import { PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { checkMaxPrice, priceMessage, reachError, validateReachCreate, type Price, type ReachCreate } from '@reach/message-domain';
import { evolveMessageView, type MessageView } from '@reach/read-models';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { AcceptMessageHandler } from '../../messages/accept-message.handler';
import { AcceptedMessagesMetric } from '../../messages/accepted-messages.metric';
import { AccountConcurrencyInterceptor } from '../../limits/account-concurrency.interceptor';
import { IdempotencyInterceptor } from '../../limits/idempotency.interceptor';
import { ReachAuthGuard } from '../reach-auth.guard';
import { ReachErrorFilter, reachApiError } from '../reach-error.filter';
import { presentReachMessage } from '../reach-message.presenter';
import { REACH_MESSAGING_ROUTE } from '../reach-message-ref';
import { reachParams } from '../reach-params';
import { sourceChannel } from './source-channel';

/**
 * `POST /rest/messaging/v1/create` → 200 MessageItem.
 * - `src` must be a number provisioned to the account or a sender id registered to it (20102).
 * - The price comes from the price table; above `maxPrice` the message is accepted and fails in
 *   the same append (status failed, errorCode 20201) and nothing is reserved.
 * - A prepaid balance is debited before the append (reservation keyed by the message id) and
 *   refunded if the append fails; one that cannot pay refuses the request (20202, 402).
 * - With `scheduledTime` the message is `scheduled`; the scheduler releases it when due.
 */
@Controller(REACH_MESSAGING_ROUTE)
@UseGuards(ReachAuthGuard)
@UseFilters(ReachErrorFilter)
@UseInterceptors(AccountConcurrencyInterceptor, IdempotencyInterceptor)
export class CreateMessageHttpController {
  constructor(
    private readonly directory: AccountDirectory,
    private readonly acceptor: AcceptMessageHandler,
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly acceptedMetric: AcceptedMessagesMetric,
  ) {}

  @Post('create')
  @HttpCode(200)
  async create(@CurrentAccount() account: AuthenticatedAccount, @Query() query: unknown, @Body() body: unknown) {
    const now = new Date();
    const validation = validateReachCreate(reachParams(query, body), {
      now,
      scheduleWindow: { minAheadMs: this.config.SCHEDULE_MIN_AHEAD_SECONDS * 1000, maxAheadMs: this.config.SCHEDULE_MAX_AHEAD_SECONDS * 1000 },
    });
    if (!validation.ok) throw reachApiError(validation.error);
    const request = validation.value;
    const channel = await this.channelOf(account, request);
    const price = priceMessage(this.config.PRICE_TABLE, request.destCountry, request.segments.count);
    const messageId = randomUUID();
    const reserved = checkMaxPrice(price, request.maxPrice).ok && (await this.reserve(account, messageId, price));
    let events;
    try {
      events = await this.acceptor.record({
        account,
        messageId,
        from: request.src,
        to: request.dest,
        body: request.body,
        channel,
        dialect: 'reach',
        validityPeriodSeconds: request.validityPeriodSeconds,
        bulkId: request.bulkId,
        statusCallback: request.statusCallback,
        maxPrice: request.maxPrice,
        scheduledFor: request.scheduledTime,
        price,
        now,
      });
    } catch (error) {
      if (reserved) await refundReservation(this.platform.db, messageId);
      throw error;
    }
    let view: MessageView | null = null;
    events.forEach((event, revision) => (view = evolveMessageView(view, event, BigInt(revision))));
    if (view === null) throw new Error(`message ${messageId} folded to no view`);
    const item = presentReachMessage(view);
    this.acceptedMetric.record('reach', item.status);
    return item;
  }

  private async channelOf(account: AuthenticatedAccount, request: ReachCreate): Promise<ChannelKind> {
    const channel = await sourceChannel(this.directory, account.id, request);
    if (channel !== null) return channel;
    throw reachApiError(reachError('badSrc', `src ${request.src} is neither a number provisioned to this applet nor a sender id registered to it`, { param: 'src' }));
  }

  /** Debits a prepaid balance (postpaid accounts: nothing happens, and a refund later finds nothing). */
  private async reserve(account: AuthenticatedAccount, messageId: string, price: Price): Promise<boolean> {
    try {
      const result = await reserveFunds(this.platform.db, { accountId: account.id, messageId, amount: price.amount, currency: price.unit });
      if (!result.ok) {
        throw reachApiError(reachError('insufficientBalance', `Insufficient balance: the message costs ${price.amount} ${price.unit}, the balance is ${result.balance}`, {
          price: price.amount,
          priceUnit: price.unit,
          balance: result.balance,
        }));
      }
      return true;
    } catch (error) {
      if (isAccountsError(error) && error.code === 'CURRENCY_MISMATCH') {
        throw reachApiError(reachError('insufficientBalance', `The balance is not in ${price.unit}, the currency of this message's price`, {
          price: price.amount,
          priceUnit: price.unit,
        }));
      }
      throw error;
    }
  }
}
