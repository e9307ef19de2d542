import { Controller, Delete, HttpCode, Query, UseFilters, UseGuards } from '@nestjs/common';
import { MessageRuleViolation, reachError } from '@reach/message-domain';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { ChangeMessageHandler } from '../../messages/change-message.handler';
import { MessageReader } from '../../messages/message-reader';
import { ReachAuthGuard } from '../reach-auth.guard';
import { ReachErrorFilter, reachApiError } from '../reach-error.filter';
import { REACH_MESSAGING_ROUTE, reachErrorOfViolation, reachNotFound, requireMessageRef } from '../reach-message-ref';
import { reachParams } from '../reach-params';

/**
 * `DELETE /rest/messaging/v1/delete?messageId=` → 204 without a body. Only a delivered,
 * undelivered, failed (expired included) or canceled outbound message can be deleted; any other
 * is 400 with errorCode 20302. Afterwards fetch answers 404 at once (it folds the stream's
 * newest events over the read model) and list stops showing it when the projection folds
 * MessageDeleted, a few milliseconds later; a second delete is a 404.
 */
@Controller(REACH_MESSAGING_ROUTE)
@UseGuards(ReachAuthGuard)
@UseFilters(ReachErrorFilter)
export class DeleteMessageHttpController {
  constructor(
    private readonly reader: MessageReader,
    private readonly changes: ChangeMessageHandler,
  ) {}

  @Delete('delete')
  @HttpCode(204)
  async delete(@CurrentAccount() account: AuthenticatedAccount, @Query() query: unknown): Promise<void> {
    const { messageId } = requireMessageRef(reachParams(query, undefined));
    const id = messageId.toLowerCase();
    if (!(await this.reader.findInStream(account.id, id))) throw reachNotFound(messageId);
    try {
      await this.changes.execute({ type: 'DeleteMessage', data: { messageId: id, accountId: account.id, now: new Date().toISOString() } });
    } catch (error) {
      if (error instanceof MessageRuleViolation && error.code === 'INVALID_TRANSITION') {
        throw reachApiError(reachError('notDeletable', error.message, { messageId }));
      }
      throw reachErrorOfViolation(error, messageId);
    }
  }
}
