import type { ProvisionedNumber } from '@reach/accounts';
import type { Db } from '@reach/database';
import { reachCellTime } from '@reach/read-models';
import { insertPlannedDeliveries, planAccountEventDeliveries, webhookSubscriptions } from '@reach/webhooks';

export interface NumberEvent {
  readonly eventType: 'number.assigned' | 'number.released';
  readonly eventId: string;
  readonly number: ProvisionedNumber;
  readonly occurredAt: Date;
}

/**
 * Plans the event's webhook deliveries in the outbox (transactional outbox): `trx` must be the
 * transaction that changed the number, so the change and its notification commit together or
 * not at all. Returns how many deliveries were planned (one per subscribed webhook).
 */
export async function planNumberEvent(trx: Db, event: NumberEvent): Promise<number> {
  const at = reachCellTime(event.occurredAt);
  const data =
    event.eventType === 'number.assigned'
      ? { number: event.number.e164, channel: event.number.channel, assigned_at: at }
      : { number: event.number.e164, channel: event.number.channel, released_at: at };
  const subscriptions = await webhookSubscriptions(trx, event.number.accountId);
  const planned = planAccountEventDeliveries(
    { eventId: event.eventId, eventType: event.eventType, accountId: event.number.accountId, occurredAt: event.occurredAt, data },
    subscriptions,
  );
  return insertPlannedDeliveries(trx, planned, event.occurredAt);
}
