import { Controller, Get, Param, UseFilters, UseGuards } from '@nestjs/common';
import { apiErrors } from '../../http/api-error';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { MessageReader } from '../../messages/message-reader';
import { ReachCellAuthGuard } from '../reachcell-auth.guard';
import { ReachCellErrorFilter } from '../reachcell-error.filter';
import { presentReachCellMessage } from '@reach/read-models';

/** `GET /v1/sms/{message_id}`. */
@Controller('v1/sms')
@UseGuards(ReachCellAuthGuard)
@UseFilters(ReachCellErrorFilter)
export class GetMessageHttpController {
  constructor(private readonly reader: MessageReader) {}

  @Get(':messageId')
  async get(@CurrentAccount() account: AuthenticatedAccount, @Param('messageId') messageId: string) {
    const view = await this.reader.find(account.id, messageId);
    if (!view) throw apiErrors.notFound();
    return { success: true, data: presentReachCellMessage(view) };
  }
}
