import { Module, type DynamicModule } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { AccountConcurrencyInterceptor } from './account-concurrency.interceptor';
import { IdempotencyInterceptor } from './idempotency.interceptor';

/**
 * The per-account limits of the send calls. Apply them to a controller or route with
 *
 *   @UseInterceptors(AccountConcurrencyInterceptor, IdempotencyInterceptor)
 *
 * (that order: a request refused with 429 never touches the idempotency table), behind the
 * dialect's auth guard. Nest resolves an interceptor named in @UseInterceptors inside the
 * controller's own module from what that module can see (GATEWAY_CONFIG, and PLATFORM and LOGGER
 * from the global PlatformModule), so the gateway module needs no import for that: its one
 * instance serves all its controllers, and they share one limiter.
 *
 * Import this module only to inject the interceptors elsewhere (e.g. `app.get(...)` for
 * `useGlobalInterceptors`); its instances are separate from the ones @UseInterceptors creates.
 */
@Module({})
export class LimitsModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: LimitsModule,
      providers: [{ provide: GATEWAY_CONFIG, useValue: config }, AccountConcurrencyInterceptor, IdempotencyInterceptor],
      exports: [AccountConcurrencyInterceptor, IdempotencyInterceptor],
    };
  }
}
