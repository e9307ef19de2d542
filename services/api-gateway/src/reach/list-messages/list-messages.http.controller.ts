import { Controller, Get, Inject, Query, UseFilters, UseGuards } from '@nestjs/common';
import { PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { validateReachList, type ReachListQuery } from '@reach/message-domain';
import { listMessages, type MessageListFilter } from '@reach/read-models';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { ReachAuthGuard } from '../reach-auth.guard';
import { ReachErrorFilter, reachApiError } from '../reach-error.filter';
import { presentReachMessage } from '../reach-message.presenter';
import { REACH_MESSAGING_ROUTE } from '../reach-message-ref';
import { reachParams } from '../reach-params';

/**
 * `GET /rest/messaging/v1/list`: newest first, 0-based pages. `sentAt`/`sentAfter`/`sentBefore`
 * filter on dateSent, so a message not sent yet only shows without them. `outOfPageRange` is
 * true when `page` is past the last page (page 0 never is).
 */
@Controller(REACH_MESSAGING_ROUTE)
@UseGuards(ReachAuthGuard)
@UseFilters(ReachErrorFilter)
export class ListMessagesReachHttpController {
  constructor(@Inject(PLATFORM) private readonly platform: PlatformConnections) {}

  @Get('list')
  async list(@CurrentAccount() account: AuthenticatedAccount, @Query() query: unknown) {
    const validation = validateReachList(reachParams(query, undefined));
    if (!validation.ok) throw reachApiError(validation.error);
    const q = validation.value;
    const page = await listMessages(this.platform.db, listFilter(account.id, q), { offset: q.page * q.pageSize, limit: q.pageSize });
    const totalPages = Math.ceil(page.total / q.pageSize);
    return {
      page: q.page,
      pageSize: q.pageSize,
      totalMessages: page.total,
      totalPages,
      outOfPageRange: q.page > 0 && q.page >= totalPages,
      messages: page.items.map(presentReachMessage),
    };
  }
}

export function listFilter(accountId: string, q: ReachListQuery): MessageListFilter {
  const before = [q.sentBefore, q.sentOn?.until].filter((d): d is Date => d !== null && d !== undefined);
  return {
    accountId,
    ...(q.dest !== null && { to: q.dest }),
    ...(q.src !== null && { from: q.src }),
    ...(q.bulkId !== null && { bulkId: q.bulkId }),
    ...(q.sentOn !== null && { sentFrom: q.sentOn.from }),
    ...(q.sentAfter !== null && { sentAfter: q.sentAfter }),
    ...(before.length > 0 && { sentBefore: new Date(Math.min(...before.map((d) => d.getTime()))) }),
  };
}
