import { deliveryIdFor } from './delivery-id';
import { planAccountEventDeliveries, type AccountEvent } from './plan-account-event-deliveries';
import type { PlannedDelivery, WebhookSubscription } from './planned-delivery';
import { reachCellWebhookEvents } from './reachcell-events';

const accountId = '7d4c1f3e-5b6a-4c8d-9e0f-1a2b3c4d5e6f';
const otherAccountId = '0c9a8b7c-6d5e-4f30-8a1b-2c3d4e5f6a7b';
const occurredAt = new Date('2026-11-22T10:15:30.250Z');

const numberAssigned: AccountEvent = {
  eventId: 'number.assigned:+14155552671:2026-11-22T10:15:30.250Z',
  eventType: 'number.assigned',
  accountId,
  occurredAt,
  data: { number: '+14155552671', channel: 'device', label: 'Büro 📞' },
};

function webhook(index: number, events: readonly string[], overrides: Partial<WebhookSubscription> = {}): WebhookSubscription {
  return {
    id: `5eb00000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    accountId,
    url: `https://app.example.com/hooks/${index}`,
    events,
    createdAt: new Date('2026-11-01T00:00:00.000Z'),
    ...overrides,
  };
}

describe('planAccountEventDeliveries', () => {
  const numbers = webhook(1, ['number.assigned', 'number.released']);
  const released = webhook(2, ['number.released']);
  const everything = webhook(3, reachCellWebhookEvents);
  const smsOnly = webhook(4, ['sms.received', 'sms.sent']);
  const anotherAccounts = webhook(5, reachCellWebhookEvents, { accountId: otherAccountId });

  describe('given webhooks of the account and of another one', () => {
    describe('when a number is assigned', () => {
      const planned = planAccountEventDeliveries(numberAssigned, [numbers, released, everything, smsOnly, anotherAccounts]);

      it("then only the account's webhooks subscribed to number.assigned get it, in the order given", () => {
        expect(planned.map((p) => p.webhookId)).toEqual([numbers.id, everything.id]);
      });

      it('then each is a JSON webhook call with a derived id, in one ordered lane per webhook for account events', () => {
        expect(planned[0]).toEqual<PlannedDelivery>({
          id: deliveryIdFor(numberAssigned.eventId, `webhook:${numbers.id}`),
          accountId,
          kind: 'webhook',
          webhookId: numbers.id,
          messageId: null,
          eventId: numberAssigned.eventId,
          eventType: 'number.assigned',
          url: numbers.url,
          endpointKey: `webhook:${numbers.id}`,
          orderingKey: `webhook:${numbers.id}:account`,
          sequence: BigInt(occurredAt.getTime()),
          contentType: 'application/json',
          payload: expect.any(String),
        });
        expect(planned[1]).toMatchObject({
          id: deliveryIdFor(numberAssigned.eventId, `webhook:${everything.id}`),
          orderingKey: `webhook:${everything.id}:account`,
        });
        expect(planned[0]!.id).not.toBe(planned[1]!.id);
      });

      it('then the body is the ReachCell envelope with the event data, timestamp to the second', () => {
        for (const delivery of planned) {
          const envelope = JSON.parse(delivery.payload);
          expect(Object.keys(envelope)).toEqual(['event_id', 'event_type', 'api_version', 'timestamp', 'data']);
          expect(envelope).toEqual({
            event_id: numberAssigned.eventId,
            event_type: 'number.assigned',
            api_version: 'v1',
            timestamp: '2026-11-22T10:15:30Z',
            data: { number: '+14155552671', channel: 'device', label: 'Büro 📞' },
          });
        }
      });
    });

    it('when a number is released, then the webhooks subscribed to number.released get it', () => {
      const event: AccountEvent = { ...numberAssigned, eventId: 'released-1', eventType: 'number.released', data: { number: '+14155552671' } };
      const planned = planAccountEventDeliveries(event, [numbers, released, everything, smsOnly, anotherAccounts]);
      expect(planned.map((p) => [p.webhookId, p.eventType])).toEqual([
        [numbers.id, 'number.released'],
        [released.id, 'number.released'],
        [everything.id, 'number.released'],
      ]);
      expect(JSON.parse(planned[0]!.payload)).toMatchObject({ event_type: 'number.released', event_id: 'released-1' });
    });
  });

  it('plans nothing without a subscribed webhook of the account', () => {
    expect(planAccountEventDeliveries(numberAssigned, [])).toEqual([]);
    expect(planAccountEventDeliveries(numberAssigned, [smsOnly, anotherAccounts])).toEqual([]);
  });

  it('is deterministic: the same event plans the same deliveries (ids and payloads)', () => {
    const webhooks = [numbers, everything];
    expect(planAccountEventDeliveries(numberAssigned, webhooks)).toEqual(planAccountEventDeliveries(numberAssigned, webhooks));
  });

  it('orders later account events after earlier ones in a webhook lane', () => {
    const later: AccountEvent = { ...numberAssigned, eventId: 'later', eventType: 'number.released', occurredAt: new Date(occurredAt.getTime() + 1) };
    const [first] = planAccountEventDeliveries(numberAssigned, [numbers]);
    const [second] = planAccountEventDeliveries(later, [numbers]);
    expect(second!.orderingKey).toBe(first!.orderingKey);
    expect(second!.sequence > first!.sequence).toBe(true);
  });
});
