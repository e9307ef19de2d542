import type { MessageEvent, MessageEventOf } from '@reach/contracts';
import { evolveMessageView, type MessageView } from './message-view';
import { messageTimings, type MessageTiming } from './message-timings';

const messageId = '2a583efc-0c41-47b5-a1fe-885fc7ec2720';
const accountId = '7d4c1f3e-5b6a-4c8d-9e0f-1a2b3c4d5e6f';
const ref = { messageId, accountId };
const T0 = Date.parse('2026-06-08T13:30:06.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

function accepted(scheduledFor: string | null = null): MessageEventOf<'MessageAccepted'> {
  return {
    type: 'MessageAccepted',
    data: {
      ...ref,
      from: '+14155552671',
      to: '+14155553000',
      body: 'hello',
      segments: { encoding: 'GSM-7', count: 1 },
      channel: 'simulated',
      dialect: 'reach',
      bulkId: null,
      statusCallback: null,
      maxPrice: null,
      validityPeriodSeconds: 14_400,
      expiresAt: at(14_400),
      scheduledFor,
      billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
      acceptedAt: at(0),
    },
  };
}

const queued = (s: number): MessageEvent => ({ type: 'MessageQueued', data: { ...ref, from: '+14155552671', queuedAt: at(s) } });
const dispatched = (s: number): MessageEvent => ({ type: 'MessageDispatched', data: { ...ref, channel: 'simulated', dispatchedAt: at(s) } });
const sent = (s: number): MessageEvent => ({ type: 'MessageSent', data: { ...ref, sentAt: at(s), providerMessageId: null } });
const delivered = (s: number): MessageEvent => ({ type: 'MessageDelivered', data: { ...ref, deliveredAt: at(s), dlrDate: null } });

/** Folds the events in order, collecting every timing each one completes. */
function timingsOf(events: readonly MessageEvent[]): MessageTiming[] {
  let view: MessageView | null = null;
  const timings: MessageTiming[] = [];
  events.forEach((event, revision) => {
    timings.push(...messageTimings(view, event));
    view = evolveMessageView(view, event, BigInt(revision));
  });
  return timings;
}

describe('messageTimings', () => {
  it('measures every step of a delivered message, and accepted → delivered end to end, from the events\' timestamps', () => {
    expect(timingsOf([accepted(), queued(0.05), dispatched(1.05), sent(1.3), delivered(3.3)])).toEqual([
      { kind: 'transition', from: 'accepted', to: 'queued', seconds: 0.05 },
      { kind: 'transition', from: 'queued', to: 'dispatched', seconds: 1 },
      { kind: 'transition', from: 'dispatched', to: 'sent', seconds: 0.25 },
      { kind: 'transition', from: 'sent', to: 'delivered', seconds: 2 },
      { kind: 'end_to_end', seconds: 3.3 },
    ]);
  });

  it('leaves out what measures the schedule: a scheduled message has no accepted → queued and no end-to-end timing', () => {
    const scheduled: MessageEvent = { type: 'MessageScheduled', data: { ...ref, scheduledFor: at(600) } };
    expect(timingsOf([accepted(at(600)), scheduled, queued(600), dispatched(600.5), sent(601), delivered(602)])).toEqual([
      { kind: 'transition', from: 'queued', to: 'dispatched', seconds: 0.5 },
      { kind: 'transition', from: 'dispatched', to: 'sent', seconds: 0.5 },
      { kind: 'transition', from: 'sent', to: 'delivered', seconds: 1 },
    ]);
  });

  it('yields nothing for a message that ends otherwise, for an inbound message, or without the step\'s start', () => {
    const failed: MessageEvent = { type: 'MessageFailed', data: { ...ref, failedAt: at(2), errorCode: 30008, reason: 'radio error' } };
    expect(timingsOf([accepted(), queued(1), failed]).map((t) => (t.kind === 'transition' ? `${t.from}→${t.to}` : t.kind))).toEqual([
      'accepted→queued',
    ]);
    const received: MessageEvent = {
      type: 'MessageReceived',
      data: { ...ref, from: '+14155553000', to: '+14155552671', body: 'hi', segments: { encoding: 'GSM-7', count: 1 }, channel: 'simulated', receivedAt: at(0) },
    };
    expect(timingsOf([received])).toEqual([]);
    // Events of a stream whose start the view never saw.
    expect(messageTimings(null, delivered(5))).toEqual([]);
  });

  it('never reports a negative duration when clocks of two services disagree', () => {
    expect(timingsOf([accepted(), queued(1), dispatched(0.5)])).toContainEqual({ kind: 'transition', from: 'queued', to: 'dispatched', seconds: 0 });
  });
});
