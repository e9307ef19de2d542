import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { sql } from 'kysely';
import { Readiness } from '@reach/service-runtime';
import type { PlatformConnections } from './platform-connections';

/** Injection token for the service's PlatformConnections. */
export const PLATFORM = Symbol('PlatformConnections');
export const LOGGER = Symbol('Logger');

/**
 * Makes the connections opened at boot injectable, reports them in /ready, and closes them last
 * at shutdown (after the components that use them have stopped).
 */
@Global()
@Module({})
export class PlatformModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    private readonly readiness: Readiness,
  ) {}

  static forRoot(platform: PlatformConnections, logger: unknown): DynamicModule {
    return {
      module: PlatformModule,
      providers: [
        { provide: PLATFORM, useValue: platform },
        { provide: LOGGER, useValue: logger },
      ],
      exports: [PLATFORM, LOGGER],
    };
  }

  onModuleInit(): void {
    this.readiness.register({
      name: 'postgres',
      check: async () => {
        await sql`select 1`.execute(this.platform.db);
      },
    });
    this.readiness.register({
      name: 'nats',
      check: async () => {
        if (this.platform.nc.isClosed()) throw new Error('connection closed');
        await this.platform.nc.flush();
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.platform.close();
  }
}
