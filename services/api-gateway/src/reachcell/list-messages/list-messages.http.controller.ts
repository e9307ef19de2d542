import { Controller, Get, Inject, Query, UseFilters, UseGuards } from '@nestjs/common';
import { internalStatusesFor } from '@reach/contracts';
import { PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { validateReachCellListQuery } from '@reach/message-domain';
import { listMessages, presentReachCellMessage } from '@reach/read-models';
import { ApiError } from '../../http/api-error';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { ReachCellAuthGuard } from '../reachcell-auth.guard';
import { ReachCellErrorFilter } from '../reachcell-error.filter';

const DAY_MS = 86_400_000;

/** `GET /v1/sms`: newest first, 1-based pages, every documented filter. */
@Controller('v1/sms')
@UseGuards(ReachCellAuthGuard)
@UseFilters(ReachCellErrorFilter)
export class ListMessagesHttpController {
  constructor(@Inject(PLATFORM) private readonly platform: PlatformConnections) {}

  @Get()
  async list(@CurrentAccount() account: AuthenticatedAccount, @Query() query: Record<string, unknown>) {
    const validation = validateReachCellListQuery(query ?? {});
    if (!validation.ok) {
      throw new ApiError(400, 'invalid_parameter', validation.errors.map((e) => e.message).join('; '), {
        fields: validation.errors.map((e) => ({ field: e.field, code: e.code, message: e.message })),
      });
    }
    const q = validation.value;
    const page = await listMessages(
      this.platform.db,
      {
        accountId: account.id,
        ...(q.number !== undefined && { number: q.number }),
        ...(q.direction !== undefined && { direction: q.direction }),
        ...(q.status !== undefined && { statuses: internalStatusesFor('reachcell', q.status) }),
        ...(q.fromDate !== undefined && { createdFrom: new Date(`${q.fromDate}T00:00:00Z`) }),
        ...(q.toDate !== undefined && { createdBefore: new Date(Date.parse(`${q.toDate}T00:00:00Z`) + DAY_MS) }),
      },
      { offset: (q.page - 1) * q.perPage, limit: q.perPage },
    );
    return {
      success: true,
      data: page.items.map(presentReachCellMessage),
      meta: { total: page.total, page: q.page, per_page: q.perPage, total_pages: Math.ceil(page.total / q.perPage) },
    };
  }
}
