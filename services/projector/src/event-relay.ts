import type { JetStreamClient } from 'nats';
import type { Kysely } from 'kysely';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { NatsNames } from '@reach/contracts';
import type { Database } from '@reach/database';
import { formatPosition, type EventStore, type RecordedEvent } from '@reach/event-store';
import { publishEvents, type RelayedEvent } from '@reach/messaging';
import { ProjectionRunner } from '@reach/read-models';

export const RELAY_CHECKPOINT = 'event-relay';

export function toRelayedEvent(e: RecordedEvent): RelayedEvent {
  return {
    eventId: e.eventId,
    type: e.type,
    streamId: e.streamId,
    revision: e.revision.toString(),
    position: formatPosition(e.position),
    data: e.data,
    metadata: { ...e.metadata },
    createdAt: e.createdAt.toISOString(),
  };
}

/**
 * The only way events reach JetStream: tail the store from the stored checkpoint, publish each
 * batch (Nats-Msg-Id = event id, so JetStream drops re-publishes inside its duplicate window) and
 * only then advance the checkpoint. A crash in between re-publishes: at-least-once, never lost.
 */
export function createEventRelay(deps: {
  store: EventStore;
  db: Kysely<Database>;
  pool: Pool;
  js: JetStreamClient;
  names: NatsNames;
  logger: Logger;
  maxBatch: number;
  onCommitted?: (count: number) => void;
}): ProjectionRunner {
  const logger = deps.logger.child({ component: 'event-relay' });
  return new ProjectionRunner({
    name: RELAY_CHECKPOINT,
    store: deps.store,
    db: deps.db,
    pool: deps.pool,
    logger,
    maxBatch: deps.maxBatch,
    project: async (_trx, batch) => {
      await publishEvents(deps.js, deps.names, batch.map(toRelayedEvent), logger);
    },
    onCommitted: (_position, count) => deps.onCommitted?.(count),
  });
}
