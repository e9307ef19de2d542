import { Body, Controller, HttpCode, Post, Query, UseFilters, UseGuards } from '@nestjs/common';
import { reachError, validateReachUpdate } from '@reach/message-domain';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { ChangeMessageHandler } from '../../messages/change-message.handler';
import { MessageReader } from '../../messages/message-reader';
import { ReachAuthGuard } from '../reach-auth.guard';
import { ReachErrorFilter, reachApiError } from '../reach-error.filter';
import { presentReachMessage } from '../reach-message.presenter';
import { REACH_MESSAGING_ROUTE, reachErrorOfViolation, reachNotFound } from '../reach-message-ref';
import { reachParams } from '../reach-params';

/**
 * `POST /rest/messaging/v1/update` (`messageId`, `body`): redacts the stored text; what was sent
 * stays sent. Only redaction exists, so `body` must be empty (`body=`); any other text is 10002
 * rather than silently dropped. Answers the MessageItem with `body: ""`. Repeating it is harmless.
 */
@Controller(REACH_MESSAGING_ROUTE)
@UseGuards(ReachAuthGuard)
@UseFilters(ReachErrorFilter)
export class UpdateMessageHttpController {
  constructor(
    private readonly reader: MessageReader,
    private readonly changes: ChangeMessageHandler,
  ) {}

  @Post('update')
  @HttpCode(200)
  async update(@CurrentAccount() account: AuthenticatedAccount, @Query() query: unknown, @Body() body: unknown) {
    const validation = validateReachUpdate(reachParams(query, body));
    if (!validation.ok) throw reachApiError(validation.error);
    const { messageId, wellFormed, body: text } = validation.value;
    if (!wellFormed) throw reachNotFound(messageId);
    if (text !== '') {
      throw reachApiError(reachError('missingRequestData', 'update only redacts the stored text: send body as an empty string', { param: 'body' }));
    }
    const id = messageId.toLowerCase();
    try {
      await this.changes.execute({ type: 'RedactMessageBody', data: { messageId: id, accountId: account.id, now: new Date().toISOString() } });
    } catch (error) {
      throw reachErrorOfViolation(error, messageId);
    }
    const view = await this.reader.findInStream(account.id, id);
    if (!view) throw reachNotFound(messageId);
    return presentReachMessage(view);
  }
}
