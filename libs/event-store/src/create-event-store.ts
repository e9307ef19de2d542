import type { Pool } from 'pg';
import type { EventStore } from './event-store.port';
import { EventStoreDbEventStore } from './eventstoredb-event-store';
import { PostgresEventStore } from './postgres-event-store';

export interface EventStoreConfig {
  /** EventStoreDB / KurrentDB connection string; null selects the embedded PostgreSQL store. */
  readonly eventStoreUrl: string | null;
  /** The service's pool: used by the PostgreSQL store, never ended by it. */
  readonly pool: Pool;
}

export function createEventStore(config: EventStoreConfig): EventStore {
  return config.eventStoreUrl
    ? EventStoreDbEventStore.fromConnectionString(config.eventStoreUrl)
    : new PostgresEventStore(config.pool);
}
