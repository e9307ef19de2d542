import type { MessageView } from '@reach/read-models';
import { presentReachMessage } from './reach-message.presenter';

const base: MessageView = {
  messageId: '2a583efc-0c41-47b5-a1fe-885fc7ec2720',
  accountId: '7d0a1a4e-3f3e-4a57-9a8b-111111111111',
  direction: 'outbound',
  from: '+237691234567',
  to: '+237671234567',
  body: 'Hello World! This is a sms message.',
  bodyRedacted: false,
  segmentCount: 1,
  encoding: 'GSM-7',
  status: 'dispatched',
  channel: 'simulated',
  dialect: 'reach',
  bulkId: null,
  statusCallback: null,
  maxPrice: null,
  validityPeriodSeconds: 14400,
  expiresAt: new Date('2016-08-29T13:12:33.001Z'),
  scheduledFor: null,
  errorCode: null,
  failureReason: null,
  providerMessageId: null,
  costUsd: null,
  price: { amount: 25, unit: 'xaf' },
  billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
  createdAt: new Date('2016-08-29T09:12:33.001Z'),
  queuedAt: new Date('2016-08-29T09:12:33.001Z'),
  dispatchedAt: new Date('2016-08-29T09:12:33.500Z'),
  sentAt: new Date('2016-08-29T09:12:34.001Z'),
  deliveredAt: null,
  updatedAt: new Date('2016-08-29T09:12:35.001Z'),
  streamRevision: 3n,
};

describe('a message as Reach shows it (MessageItem)', () => {
  it('has exactly the seed\'s fields, times with milliseconds', () => {
    expect(presentReachMessage({ ...base, status: 'sent' })).toEqual({
      appletId: base.accountId,
      apiVersion: '1.0.0',
      body: 'Hello World! This is a sms message.',
      dest: '+237671234567',
      src: '+237691234567',
      bulkId: null,
      numSegments: 1,
      numMedia: 0,
      price: 25,
      priceUnit: 'xaf',
      messageId: base.messageId,
      status: 'sent',
      messageType: 'outbound',
      errorCode: null,
      errorMessage: null,
      dateCreated: '2016-08-29T09:12:33.001Z',
      dateSent: '2016-08-29T09:12:34.001Z',
      dateUpdated: '2016-08-29T09:12:35.001Z',
    });
  });

  it('uses Reach status words', () => {
    expect(presentReachMessage(base).status).toBe('sending');
    expect(presentReachMessage({ ...base, status: 'scheduled' }).status).toBe('scheduled');
    expect(presentReachMessage({ ...base, status: 'canceled' }).status).toBe('canceled');
    expect(presentReachMessage({ ...base, status: 'expired', errorCode: 30001, failureReason: 'Validity period elapsed' })).toMatchObject({
      status: 'failed',
      errorCode: 30001,
      errorMessage: 'Validity period elapsed',
    });
  });

  it('shows a redacted body as an empty string, and no price or send time when there is none', () => {
    const item = presentReachMessage({ ...base, status: 'scheduled', body: null, bodyRedacted: true, price: null, sentAt: null, bulkId: 'b-1' });
    expect(item).toMatchObject({ body: '', price: null, priceUnit: null, dateSent: null, bulkId: 'b-1' });
  });

  it('dates an inbound message as sent when it arrived', () => {
    const item = presentReachMessage({ ...base, direction: 'inbound', status: 'received', sentAt: null, price: null });
    expect(item).toMatchObject({ messageType: 'inbound', status: 'received', dateSent: '2016-08-29T09:12:33.001Z' });
  });
});
