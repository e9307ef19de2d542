import type { DeliveryDetail } from '@reach/webhooks';
import { presentReachCellDelivery } from './reachcell-delivery.presenter';

const delivery: DeliveryDetail = {
  id: '7d5c1c1e-96a3-8f10-9a4e-0d1f3c2b4a59',
  kind: 'webhook',
  webhookId: 'b0f7a8f2-4c61-4d2a-9d0e-5b1f6f4f3e21',
  messageId: '3f2a1b0c-1d2e-4f30-8a4b-5c6d7e8f9a0b',
  eventId: 'evt-1',
  eventType: 'sms.delivered',
  url: 'https://hooks.example.com/reach',
  state: 'pending',
  attempts: 2,
  nextAttemptAt: new Date('2026-05-01T10:05:00.999Z'),
  lastStatusCode: 503,
  lastError: 'HTTP 503',
  createdAt: new Date('2026-05-01T10:00:00.123Z'),
  completedAt: null,
  contentType: 'application/json',
  payload: '{"event_id":"evt-1"}',
  attemptLog: [
    { attempt: 1, startedAt: new Date('2026-05-01T10:00:01.500Z'), latencyMs: 120, statusCode: 500, outcome: 'retry', error: 'HTTP 500', responseExcerpt: 'oops' },
    { attempt: 2, startedAt: new Date('2026-05-01T10:01:00.000Z'), latencyMs: null, statusCode: null, outcome: 'retry', error: 'timeout', responseExcerpt: null },
  ],
};

describe('a delivery in the ReachCell API', () => {
  it('shows every documented field, timestamps in UTC to the second', () => {
    expect(presentReachCellDelivery(delivery)).toEqual({
      id: delivery.id,
      kind: 'webhook',
      webhook_id: delivery.webhookId,
      message_id: delivery.messageId,
      event_id: 'evt-1',
      event_type: 'sms.delivered',
      url: 'https://hooks.example.com/reach',
      state: 'pending',
      attempts: 2,
      next_attempt_at: '2026-05-01T10:05:00Z',
      last_status_code: 503,
      last_error: 'HTTP 503',
      created_at: '2026-05-01T10:00:00Z',
      completed_at: null,
      attempt_log: [
        { attempt: 1, started_at: '2026-05-01T10:00:01Z', latency_ms: 120, status_code: 500, outcome: 'retry', error: 'HTTP 500' },
        { attempt: 2, started_at: '2026-05-01T10:01:00Z', latency_ms: null, status_code: null, outcome: 'retry', error: 'timeout' },
      ],
    });
  });

  it('leaves out the payload and the receivers\' answers', () => {
    const json = JSON.stringify(presentReachCellDelivery(delivery));
    expect(json).not.toContain('payload');
    expect(json).not.toContain('oops');
  });

  it('shows a finished status callback with its completion time', () => {
    const done = presentReachCellDelivery({ ...delivery, kind: 'status_callback', webhookId: null, state: 'succeeded', nextAttemptAt: null, completedAt: new Date('2026-05-01T10:02:03.456Z') });
    expect(done).toMatchObject({ kind: 'status_callback', webhook_id: null, state: 'succeeded', next_attempt_at: null, completed_at: '2026-05-01T10:02:03Z' });
  });
});
