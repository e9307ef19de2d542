import type { Migration } from 'kysely';
import * as eventStore from './2026-11-22-01-event-store';
import * as accounts from './2026-11-22-02-accounts';
import * as messagesReadModel from './2026-11-22-03-messages-read-model';
import * as dispatchQueue from './2026-11-22-04-dispatch-queue';
import * as sendersAndBalances from './2026-11-22-05-senders-and-balances';
import * as schedulerTimers from './2026-11-22-06-scheduler-timers';
import * as idempotencyKeys from './2026-11-22-07-idempotency-keys';
import * as webhookDeliveries from './2026-11-22-08-webhook-deliveries';
import * as deliveryTraceContext from './2026-11-22-09-delivery-trace-context';
import * as timerAndQueueTraceContext from './2026-11-22-10-timer-and-queue-trace-context';
import * as realChannels from './2026-11-22-11-real-channels';
import * as unfinishedMessagesByStatus from './2026-12-07-12-unfinished-messages-by-status';

/** Frozen in time: never edit a migration that has shipped; add a new one. */
export const migrations: Record<string, Migration> = {
  '2026-11-22-01-event-store': eventStore,
  '2026-11-22-02-accounts': accounts,
  '2026-11-22-03-messages-read-model': messagesReadModel,
  '2026-11-22-04-dispatch-queue': dispatchQueue,
  '2026-11-22-05-senders-and-balances': sendersAndBalances,
  '2026-11-22-06-scheduler-timers': schedulerTimers,
  '2026-11-22-07-idempotency-keys': idempotencyKeys,
  '2026-11-22-08-webhook-deliveries': webhookDeliveries,
  '2026-11-22-09-delivery-trace-context': deliveryTraceContext,
  '2026-11-22-10-timer-and-queue-trace-context': timerAndQueueTraceContext,
  '2026-11-22-11-real-channels': realChannels,
  '2026-12-07-12-unfinished-messages-by-status': unfinishedMessagesByStatus,
};
