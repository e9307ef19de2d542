import type { MessageEventOf } from '@reach/contracts';
import { timersObsoletedBy, timersOfAcceptedMessage } from './message-timers';

const accepted: MessageEventOf<'MessageAccepted'>['data'] = {
  messageId: '6f1c1e52-4a43-4f55-9a55-0e4a8b1f7a01',
  accountId: '0b8f2d9e-0a53-4b2f-8c52-6a3f0f6e2c11',
  from: '+14155552671',
  to: '+14155553000',
  body: 'hi',
  segments: { encoding: 'GSM-7', count: 1 },
  channel: 'simulated',
  dialect: 'reach',
  bulkId: null,
  statusCallback: null,
  maxPrice: null,
  validityPeriodSeconds: 14_400,
  expiresAt: '2026-06-08T18:00:00.000Z',
  scheduledFor: null,
  billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
  acceptedAt: '2026-06-08T13:30:00.000Z',
};
const ref = { messageId: accepted.messageId, accountId: accepted.accountId };

describe('timersOfAcceptedMessage', () => {
  it('gives every message an expiry at its validity deadline', () => {
    expect(timersOfAcceptedMessage(accepted)).toEqual([{ ...ref, kind: 'expire', dueAt: new Date('2026-06-08T18:00:00.000Z') }]);
  });

  it('adds a release at the scheduled time of a scheduled message', () => {
    const scheduled = { ...accepted, scheduledFor: '2026-06-08T14:00:00.000Z', expiresAt: '2026-06-08T18:00:00.000Z' };
    expect(timersOfAcceptedMessage(scheduled)).toEqual([
      { ...ref, kind: 'expire', dueAt: new Date('2026-06-08T18:00:00.000Z') },
      { ...ref, kind: 'release', dueAt: new Date('2026-06-08T14:00:00.000Z') },
    ]);
  });
});

describe('timersObsoletedBy', () => {
  it('a dispatch makes only the expiry pointless', () => {
    expect(timersObsoletedBy('MessageDispatched', ref.messageId)).toEqual([{ messageId: ref.messageId, kind: 'expire' }]);
  });

  it('a cancel makes both pointless', () => {
    expect(timersObsoletedBy('MessageCanceled', ref.messageId).map((k) => k.kind)).toEqual(['release', 'expire']);
  });
});
