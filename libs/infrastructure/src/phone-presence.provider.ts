import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { PhonePresenceStore, PresenceCache, type PresenceChange } from '@reach/messaging';
import { Readiness } from '@reach/service-runtime';
import { LOGGER, PLATFORM } from './platform.module';
import type { PlatformConnections } from './platform-connections';

/**
 * Which numbers' phones are online, mirrored in memory from the presence bucket (NATS KV).
 * Loaded completely before the service reports ready; a number with no entry counts as online.
 */
@Injectable()
export class PhonePresenceDirectory implements OnModuleInit, BeforeApplicationShutdown {
  private cache: PresenceCache | null = null;

  constructor(
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    @Inject(LOGGER) private readonly logger: Logger,
    readiness: Readiness,
  ) {
    readiness.register({
      name: 'presence',
      check: async () => {
        if (!this.cache) throw new Error('presence not loaded yet');
      },
    });
  }

  async onModuleInit(): Promise<void> {
    const store = await PhonePresenceStore.open(this.platform.js, this.platform.names);
    const cache = new PresenceCache(store, this.logger.child({ component: 'presence' }));
    await cache.start();
    this.cache = cache;
  }

  isOnline(e164: string): boolean {
    return this.cache?.isOnline(e164, true) ?? true;
  }

  /** Numbers whose phone is recorded offline (none before the directory is loaded). */
  offlineNumbers(): string[] {
    return this.cache?.offlineNumbers() ?? [];
  }

  onChange(listener: (change: PresenceChange) => void): () => void {
    if (!this.cache) throw new Error('presence directory used before it was loaded');
    return this.cache.onChange(listener);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.cache?.stop();
  }
}
