import { Controller, Get, Query, UseFilters, UseGuards } from '@nestjs/common';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { MessageReader } from '../../messages/message-reader';
import { ReachAuthGuard } from '../reach-auth.guard';
import { ReachErrorFilter } from '../reach-error.filter';
import { presentReachMessage } from '../reach-message.presenter';
import { REACH_MESSAGING_ROUTE, reachNotFound, requireMessageRef } from '../reach-message-ref';
import { reachParams } from '../reach-params';

/** `GET /rest/messaging/v1/fetch?messageId=` → MessageItem; another applet's id answers like an unknown one (404). */
@Controller(REACH_MESSAGING_ROUTE)
@UseGuards(ReachAuthGuard)
@UseFilters(ReachErrorFilter)
export class FetchMessageHttpController {
  constructor(private readonly reader: MessageReader) {}

  @Get('fetch')
  async fetch(@CurrentAccount() account: AuthenticatedAccount, @Query() query: unknown) {
    const { messageId } = requireMessageRef(reachParams(query, undefined));
    const view = await this.reader.find(account.id, messageId);
    if (!view) throw reachNotFound(messageId);
    return presentReachMessage(view);
  }
}
