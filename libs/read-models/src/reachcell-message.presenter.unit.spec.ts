import type { MessageView } from './message-view';
import { presentReachCellMessage, reachCellTime } from './reachcell-message.presenter';

const base: MessageView = {
  messageId: '2a583efc-0c41-47b5-a1fe-885fc7ec2720',
  accountId: '7d0a1a4e-3f3e-4a57-9a8b-111111111111',
  direction: 'outbound',
  from: '+14155552671',
  to: '+14155553000',
  body: 'Your verification code is 482910',
  bodyRedacted: false,
  segmentCount: 1,
  encoding: 'GSM-7',
  status: 'delivered',
  channel: 'simulated',
  dialect: 'reachcell',
  bulkId: null,
  statusCallback: null,
  maxPrice: null,
  validityPeriodSeconds: 14400,
  expiresAt: new Date('2026-06-08T17:30:06.123Z'),
  scheduledFor: null,
  errorCode: null,
  failureReason: null,
  providerMessageId: 'sim-2a583efc',
  costUsd: null,
  price: null,
  billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
  createdAt: new Date('2026-06-08T13:30:06.123Z'),
  queuedAt: new Date('2026-06-08T13:30:06.123Z'),
  dispatchedAt: new Date('2026-06-08T13:30:06.200Z'),
  sentAt: new Date('2026-06-08T13:30:07.500Z'),
  deliveredAt: new Date('2026-06-08T14:02:11.900Z'),
  updatedAt: new Date('2026-06-08T14:02:11.900Z'),
  streamRevision: 4n,
};

describe('a message as ReachCell shows it', () => {
  it('has exactly the documented fields, timestamps in UTC to the second', () => {
    expect(presentReachCellMessage(base)).toEqual({
      message_id: base.messageId,
      from: '+14155552671',
      to: '+14155553000',
      body: 'Your verification code is 482910',
      direction: 'outbound',
      segment_count: 1,
      status: 'delivered',
      failure_reason: null,
      sent_at: '2026-06-08T13:30:07Z',
      delivered_at: '2026-06-08T14:02:11Z',
      cost_usd: null,
      created_at: '2026-06-08T13:30:06Z',
    });
  });

  it('gives a failure reason whenever it says failed, and only then', () => {
    const undelivered = presentReachCellMessage({ ...base, status: 'undelivered', deliveredAt: null, errorCode: 30005, failureReason: 'Destination handset unreachable' });
    expect(undelivered).toMatchObject({ status: 'failed', failure_reason: 'Destination handset unreachable' });
    const expired = presentReachCellMessage({ ...base, status: 'expired', failureReason: 'Validity period elapsed before the message could be sent' });
    expect(expired).toMatchObject({ status: 'failed', failure_reason: 'Validity period elapsed before the message could be sent' });
    const canceled = presentReachCellMessage({ ...base, status: 'canceled', failureReason: null });
    expect(canceled).toMatchObject({ status: 'failed', failure_reason: 'Canceled before it was sent' });
    expect(presentReachCellMessage({ ...base, status: 'sent', failureReason: 'stale' }).failure_reason).toBeNull();
  });

  it('shows accepted and scheduled messages as queued, and null times before they happen', () => {
    const accepted = presentReachCellMessage({ ...base, status: 'accepted', sentAt: null, deliveredAt: null });
    expect(accepted).toMatchObject({ status: 'queued', sent_at: null, delivered_at: null });
    expect(presentReachCellMessage({ ...base, status: 'scheduled' }).status).toBe('queued');
  });

  it('formats times without milliseconds', () => {
    expect(reachCellTime(new Date('2026-01-02T03:04:05.999Z'))).toBe('2026-01-02T03:04:05Z');
  });
});
