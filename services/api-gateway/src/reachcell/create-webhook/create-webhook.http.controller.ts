import { Body, Controller, Header, HttpCode, Inject, Post, UseFilters, UseGuards } from '@nestjs/common';
import { PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { createWebhook } from '@reach/webhooks';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config';
import { ApiError, apiErrors } from '../../http/api-error';
import { CurrentAccount, type AuthenticatedAccount } from '../../http/authenticated-account';
import { UnparseableBody } from '../../http/request-body';
import { ReachCellAuthGuard } from '../reachcell-auth.guard';
import { ReachCellErrorFilter } from '../reachcell-error.filter';
import { presentCreatedWebhook } from '../reachcell-webhook.presenter';
import { validateCreateWebhook } from './create-webhook.request';

/**
 * `POST /v1/webhooks` → 201 with the secret, shown this once (only its SHA-256 is stored). No
 * Idempotency-Key support on purpose: replaying the answer would mean storing the secret.
 * More than MAX_WEBHOOKS_PER_ACCOUNT → 422 `webhook_limit_reached` (mapped by the error filter).
 */
@Controller('v1/webhooks')
@UseGuards(ReachCellAuthGuard)
@UseFilters(ReachCellErrorFilter)
export class CreateWebhookHttpController {
  constructor(
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    @Inject(GATEWAY_CONFIG) private readonly config: Pick<GatewayConfig, 'WEBHOOKS_ALLOW_PRIVATE_NETWORKS'>,
  ) {}

  @Post()
  @HttpCode(201)
  @Header('Cache-Control', 'no-store')
  async create(@CurrentAccount() account: AuthenticatedAccount, @Body() body: unknown) {
    if (body instanceof UnparseableBody) {
      throw body.reason === 'malformed_json' ? apiErrors.malformedJson() : apiErrors.unsupportedMediaType(body.contentType);
    }
    const validation = validateCreateWebhook(body ?? {}, { allowPrivateNetworks: this.config.WEBHOOKS_ALLOW_PRIVATE_NETWORKS });
    if (!validation.ok) {
      throw new ApiError(422, 'validation_error', validation.errors.map((e) => e.message).join('; '), {
        fields: validation.errors.map((e) => ({ field: e.field, code: e.code, message: e.message })),
      });
    }
    const { webhook, secret } = await createWebhook(this.platform.db, { accountId: account.id, ...validation.value, now: new Date() });
    return { success: true, data: presentCreatedWebhook(webhook, secret) };
  }
}
