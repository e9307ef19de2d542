import { Body, Controller, HttpCode, Post, Query, UseFilters, UseGuards } from '@nestjs/common';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { ChangeMessageHandler } from '../../messages/change-message.handler';
import { MessageReader } from '../../messages/message-reader';
import { ReachAuthGuard } from '../reach-auth.guard';
import { ReachErrorFilter } from '../reach-error.filter';
import { presentReachMessage } from '../reach-message.presenter';
import { REACH_MESSAGING_ROUTE, reachErrorOfViolation, reachNotFound, requireMessageRef } from '../reach-message-ref';
import { reachParams } from '../reach-params';

/**
 * `POST /rest/messaging/v1/unschedule` (`messageId`): cancels a message that is still accepted or
 * scheduled → MessageItem with status `canceled` (again for one already canceled). Once it is
 * queued or further it is too late: 400, errorCode 20301.
 */
@Controller(REACH_MESSAGING_ROUTE)
@UseGuards(ReachAuthGuard)
@UseFilters(ReachErrorFilter)
export class UnscheduleMessageHttpController {
  constructor(
    private readonly reader: MessageReader,
    private readonly changes: ChangeMessageHandler,
  ) {}

  @Post('unschedule')
  @HttpCode(200)
  async unschedule(@CurrentAccount() account: AuthenticatedAccount, @Query() query: unknown, @Body() body: unknown) {
    const { messageId } = requireMessageRef(reachParams(query, body));
    const id = messageId.toLowerCase();
    try {
      await this.changes.execute({ type: 'CancelMessage', data: { messageId: id, accountId: account.id, now: new Date().toISOString() } });
    } catch (error) {
      throw reachErrorOfViolation(error, messageId);
    }
    const view = await this.reader.findInStream(account.id, id);
    if (!view) throw reachNotFound(messageId);
    return presentReachMessage(view);
  }
}
