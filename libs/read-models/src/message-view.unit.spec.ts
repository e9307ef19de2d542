import fc from 'fast-check';
import { deliveryErrors, messageEventTypes, type MessageEvent, type MessageEventOf, type MessageEventType } from '@reach/contracts';
import type { MessageRow, NewMessageRow } from '@reach/database';
import { evolveMessageView, messageRowToView, messageViewToRow, type MessageView } from './message-view';

// ---------------------------------------------------------------------------------------------
// fixtures

const messageId = '2a583efc-0c41-47b5-a1fe-885fc7ec2720';
const accountId = '7d4c1f3e-5b6a-4c8d-9e0f-1a2b3c4d5e6f';
const ref = { messageId, accountId };

const T0 = '2026-06-08T13:30:06.000Z';
/** T0 plus some seconds, as the ISO string events carry. */
const at = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1000).toISOString();

function accepted(overrides: Partial<MessageEventOf<'MessageAccepted'>['data']> = {}): MessageEventOf<'MessageAccepted'> {
  return {
    type: 'MessageAccepted',
    data: {
      ...ref,
      from: '+14155552671',
      to: '+14155553000',
      body: 'Your verification code is 482910',
      segments: { encoding: 'GSM-7', count: 2 },
      channel: 'device',
      dialect: 'reachcell',
      bulkId: 'bulk-7',
      statusCallback: 'https://example.com/cb',
      maxPrice: 0.05,
      validityPeriodSeconds: 14_400,
      expiresAt: at(14_400),
      scheduledFor: null,
      billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
      acceptedAt: T0,
      ...overrides,
    },
  };
}

const received: MessageEventOf<'MessageReceived'> = {
  type: 'MessageReceived',
  data: {
    ...ref,
    from: '+14155553000',
    to: '+14155552671',
    body: 'STOP',
    segments: { encoding: 'UCS-2', count: 1 },
    channel: 'simulated',
    receivedAt: at(5),
  },
};

const queued: MessageEventOf<'MessageQueued'> = { type: 'MessageQueued', data: { ...ref, from: '+14155552671', queuedAt: at(1) } };
const dispatched: MessageEventOf<'MessageDispatched'> = {
  type: 'MessageDispatched',
  data: { ...ref, channel: 'simulated', dispatchedAt: at(2) },
};
const sent: MessageEventOf<'MessageSent'> = { type: 'MessageSent', data: { ...ref, sentAt: at(3), providerMessageId: 'prov-42' } };
const delivered: MessageEventOf<'MessageDelivered'> = {
  type: 'MessageDelivered',
  data: { ...ref, deliveredAt: at(9), dlrDate: '2606081330' },
};
const undelivered: MessageEventOf<'MessageUndelivered'> = {
  type: 'MessageUndelivered',
  data: {
    ...ref,
    undeliveredAt: at(10),
    errorCode: deliveryErrors.unreachableDestination.code,
    reason: deliveryErrors.unreachableDestination.reason,
    dlrDate: '2606081330',
  },
};
const failed: MessageEventOf<'MessageFailed'> = {
  type: 'MessageFailed',
  data: { ...ref, failedAt: at(4), errorCode: deliveryErrors.deviceError.code, reason: 'radio error' },
};
const expired: MessageEventOf<'MessageExpired'> = {
  type: 'MessageExpired',
  data: { ...ref, expiredAt: at(14_400), errorCode: deliveryErrors.validityExpired.code, reason: deliveryErrors.validityExpired.reason },
};
const scheduled: MessageEventOf<'MessageScheduled'> = { type: 'MessageScheduled', data: { ...ref, scheduledFor: at(3_600) } };
const canceled: MessageEventOf<'MessageCanceled'> = { type: 'MessageCanceled', data: { ...ref, canceledAt: at(60) } };
const redacted: MessageEventOf<'MessageBodyRedacted'> = { type: 'MessageBodyRedacted', data: { ...ref, redactedAt: at(100) } };

/** One sample event of every type. */
const sampleOf: { [T in MessageEventType]: MessageEventOf<T> } = {
  MessageAccepted: accepted(),
  MessageScheduled: scheduled,
  MessageQueued: queued,
  MessageDispatched: dispatched,
  MessageSent: sent,
  MessageDelivered: delivered,
  MessageUndelivered: undelivered,
  MessageFailed: failed,
  MessageCanceled: canceled,
  MessageExpired: expired,
  MessageReceived: received,
  MessageBodyRedacted: redacted,
  MessageDeleted: { type: 'MessageDeleted', data: { ...ref, deletedAt: at(200) } },
};

/** Folds events at revisions 0, 1, 2, … as the projection does; throws if any step yields null. */
function fold(events: readonly MessageEvent[]): MessageView {
  let view: MessageView | null = null;
  events.forEach((event, index) => {
    view = evolveMessageView(view, event, BigInt(index));
    if (view === null) throw new Error(`event ${index} (${event.type}) gave no view`);
  });
  if (view === null) throw new Error('no events');
  return view;
}

/** What pg hands back for a row kysely wrote: numerics and bigints as text, defaults filled in. */
function asStoredRow(row: NewMessageRow): MessageRow {
  const text = (value: number | string | bigint | null | undefined): string | null =>
    value === null || value === undefined ? null : String(value);
  const date = (value: Date | string | null | undefined): Date | null =>
    value === null || value === undefined ? null : new Date(value);
  return {
    ...row,
    projected_at: new Date(0),
    price: row.price === null || row.price === undefined ? null : String(row.price),
    price_unit: row.price_unit ?? null,
    body: row.body ?? null,
    dialect: row.dialect ?? null,
    bulk_id: row.bulk_id ?? null,
    status_callback: row.status_callback ?? null,
    validity_period_seconds: row.validity_period_seconds ?? null,
    error_code: row.error_code ?? null,
    failure_reason: row.failure_reason ?? null,
    provider_message_id: row.provider_message_id ?? null,
    billing_allowance_segments: row.billing_allowance_segments ?? null,
    body_redacted: row.body_redacted ?? false,
    max_price: text(row.max_price),
    cost_usd: text(row.cost_usd),
    billing_overage_price_usd: text(row.billing_overage_price_usd),
    stream_revision: text(row.stream_revision)!,
    expires_at: date(row.expires_at),
    scheduled_for: date(row.scheduled_for),
    created_at: date(row.created_at)!,
    queued_at: date(row.queued_at),
    dispatched_at: date(row.dispatched_at),
    sent_at: date(row.sent_at),
    delivered_at: date(row.delivered_at),
    updated_at: date(row.updated_at)!,
  };
}

// ---------------------------------------------------------------------------------------------

describe('evolveMessageView', () => {
  it('starts an outbound view from MessageAccepted with every field of the event', () => {
    const view = evolveMessageView(null, accepted(), 0n);
    expect(view).toEqual<MessageView>({
      messageId,
      accountId,
      direction: 'outbound',
      from: '+14155552671',
      to: '+14155553000',
      body: 'Your verification code is 482910',
      bodyRedacted: false,
      segmentCount: 2,
      encoding: 'GSM-7',
      status: 'accepted',
      channel: 'device',
      dialect: 'reachcell',
      bulkId: 'bulk-7',
      statusCallback: 'https://example.com/cb',
      maxPrice: 0.05,
      validityPeriodSeconds: 14_400,
      expiresAt: new Date(at(14_400)),
      scheduledFor: null,
      errorCode: null,
      failureReason: null,
      providerMessageId: null,
      costUsd: null,
      price: null,
      billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
      createdAt: new Date(T0),
      queuedAt: null,
      dispatchedAt: null,
      sentAt: null,
      deliveredAt: null,
      updatedAt: new Date(T0),
      streamRevision: 0n,
    });
  });

  it('carries a scheduled accept time into scheduledFor', () => {
    const view = evolveMessageView(null, accepted({ scheduledFor: at(3_600) }), 0n);
    expect(view?.scheduledFor).toEqual(new Date(at(3_600)));
  });

  it('walks accepted → queued → dispatched → sent → delivered, stamping each step', () => {
    const afterAccepted = fold([accepted()]);
    const afterQueued = evolveMessageView(afterAccepted, queued, 1n)!;
    expect(afterQueued).toEqual({ ...afterAccepted, status: 'queued', queuedAt: new Date(at(1)), updatedAt: new Date(at(1)), streamRevision: 1n });

    const afterDispatched = evolveMessageView(afterQueued, dispatched, 2n)!;
    expect(afterDispatched).toEqual({
      ...afterQueued,
      status: 'dispatched',
      // The channel that took the message replaces the one chosen at accept time.
      channel: 'simulated',
      dispatchedAt: new Date(at(2)),
      updatedAt: new Date(at(2)),
      streamRevision: 2n,
    });

    const afterSent = evolveMessageView(afterDispatched, sent, 3n)!;
    expect(afterSent).toEqual({
      ...afterDispatched,
      status: 'sent',
      sentAt: new Date(at(3)),
      providerMessageId: 'prov-42',
      updatedAt: new Date(at(3)),
      streamRevision: 3n,
    });

    const afterDelivered = evolveMessageView(afterSent, delivered, 4n)!;
    expect(afterDelivered).toEqual({
      ...afterSent,
      status: 'delivered',
      deliveredAt: new Date(at(9)),
      updatedAt: new Date(at(9)),
      streamRevision: 4n,
    });
    // Creation time and the accept-time facts never move.
    expect(afterDelivered.createdAt).toEqual(new Date(T0));
    expect(afterDelivered.errorCode).toBeNull();
    expect(afterDelivered.failureReason).toBeNull();
  });

  it.each([
    ['undelivered', [queued, dispatched, sent, undelivered], deliveryErrors.unreachableDestination.code, deliveryErrors.unreachableDestination.reason, at(10)],
    ['failed', [queued, dispatched, failed], deliveryErrors.deviceError.code, 'radio error', at(4)],
    ['expired', [queued, expired], deliveryErrors.validityExpired.code, deliveryErrors.validityExpired.reason, at(14_400)],
  ] as const)('%s sets the status, errorCode and failureReason', (status, tail, errorCode, reason, time) => {
    const view = fold([accepted(), ...tail]);
    expect(view.status).toBe(status);
    expect(view.errorCode).toBe(errorCode);
    expect(view.failureReason).toBe(reason);
    expect(view.updatedAt).toEqual(new Date(time));
    expect(view.deliveredAt).toBeNull();
    expect(view.streamRevision).toBe(BigInt(tail.length));
  });

  it('scheduled and canceled move the status; scheduled sets scheduledFor', () => {
    const sched = fold([accepted(), scheduled]);
    expect(sched.status).toBe('scheduled');
    expect(sched.scheduledFor).toEqual(new Date(at(3_600)));
    const cancel = fold([accepted(), scheduled, canceled]);
    expect(cancel.status).toBe('canceled');
    expect(cancel.updatedAt).toEqual(new Date(at(60)));
    expect(cancel.streamRevision).toBe(2n);
  });

  it('redaction nulls the body and flags it, leaving the status alone', () => {
    const before = fold([accepted(), queued, dispatched, sent, delivered]);
    const after = evolveMessageView(before, redacted, 5n)!;
    expect(after).toEqual({ ...before, body: null, bodyRedacted: true, updatedAt: new Date(at(100)), streamRevision: 5n });
    expect(after.status).toBe('delivered');
  });

  it('has no view once the message is deleted', () => {
    const before = fold([accepted(), queued, failed]);
    expect(evolveMessageView(before, sampleOf.MessageDeleted, 3n)).toBeNull();
  });

  it('redacts an inbound message too', () => {
    const after = fold([received, redacted]);
    expect(after.body).toBeNull();
    expect(after.bodyRedacted).toBe(true);
    expect(after.status).toBe('received');
  });

  it.each(messageEventTypes.filter((t) => t !== 'MessageAccepted' && t !== 'MessageReceived'))(
    '%s does not start a view: null in, null out',
    (type) => {
      expect(evolveMessageView(null, sampleOf[type], 3n)).toBeNull();
    },
  );

  it('starts an inbound view from MessageReceived', () => {
    expect(evolveMessageView(null, received, 0n)).toEqual<MessageView>({
      messageId,
      accountId,
      direction: 'inbound',
      from: '+14155553000',
      to: '+14155552671',
      body: 'STOP',
      bodyRedacted: false,
      segmentCount: 1,
      encoding: 'UCS-2',
      status: 'received',
      channel: 'simulated',
      dialect: null,
      bulkId: null,
      statusCallback: null,
      maxPrice: null,
      validityPeriodSeconds: null,
      expiresAt: null,
      scheduledFor: null,
      errorCode: null,
      failureReason: null,
      providerMessageId: null,
      costUsd: null,
      price: null,
      billing: null,
      createdAt: new Date(at(5)),
      queuedAt: null,
      dispatchedAt: null,
      sentAt: null,
      deliveredAt: null,
      updatedAt: new Date(at(5)),
      streamRevision: 0n,
    });
  });

  it('a second starting event leaves an existing view as it was', () => {
    const view = fold([accepted(), queued]);
    expect(evolveMessageView(view, accepted({ body: 'other' }), 2n)).toBe(view);
    expect(evolveMessageView(view, received, 2n)).toBe(view);
  });
});

describe('messageViewToRow / messageRowToView', () => {
  const lifecycles: Record<string, readonly MessageEvent[]> = {
    'accepted': [accepted()],
    'scheduled': [accepted({ scheduledFor: at(3_600) }), scheduled],
    'delivered': [accepted(), queued, dispatched, sent, delivered],
    'undelivered': [accepted(), queued, dispatched, sent, undelivered],
    'failed': [accepted(), queued, dispatched, failed],
    'expired': [accepted(), queued, expired],
    'redacted': [accepted(), queued, dispatched, sent, delivered, redacted],
    'no max price': [accepted({ maxPrice: null, bulkId: null, statusCallback: null, dialect: 'reach' })],
    'inbound': [received],
    'inbound redacted': [received, redacted],
  };

  it.each(Object.entries(lifecycles))('round-trips the %s view through its row', (_name, events) => {
    const view = fold(events);
    expect(messageRowToView(asStoredRow(messageViewToRow(view)))).toEqual(view);
  });

  it('round-trips the overage cost and the billing terms', () => {
    const view: MessageView = { ...fold([accepted(), queued, dispatched, sent]), costUsd: 0.015 };
    const row = messageViewToRow(view);
    expect(row).toMatchObject({ cost_usd: 0.015, billing_allowance_segments: 1000, billing_overage_price_usd: 0.0075 });
    expect(messageRowToView(asStoredRow(row))).toEqual(view);
  });

  it('maps every view field to its column', () => {
    const view = fold([accepted(), queued, dispatched, sent, delivered]);
    expect(messageViewToRow(view)).toEqual<NewMessageRow>({
      message_id: messageId,
      account_id: accountId,
      direction: 'outbound',
      from_number: '+14155552671',
      to_number: '+14155553000',
      body: 'Your verification code is 482910',
      body_redacted: false,
      segment_count: 2,
      encoding: 'GSM-7',
      status: 'delivered',
      channel: 'simulated',
      dialect: 'reachcell',
      bulk_id: 'bulk-7',
      status_callback: 'https://example.com/cb',
      max_price: 0.05,
      validity_period_seconds: 14_400,
      expires_at: new Date(at(14_400)),
      scheduled_for: null,
      error_code: null,
      failure_reason: null,
      provider_message_id: 'prov-42',
      cost_usd: null,
      price: null,
      price_unit: null,
      billing_allowance_segments: 1000,
      billing_overage_price_usd: 0.0075,
      created_at: new Date(T0),
      queued_at: new Date(at(1)),
      dispatched_at: new Date(at(2)),
      sent_at: new Date(at(3)),
      delivered_at: new Date(at(9)),
      updated_at: new Date(at(9)),
      stream_revision: 4n,
    });
  });

  it('reads numeric text columns back as numbers and a zero overage price as terms, not null', () => {
    const view: MessageView = { ...fold([accepted({ billing: { monthlyAllowanceSegments: 0, overagePricePerSegmentUsd: 0 } })]) };
    const stored: MessageRow = { ...asStoredRow(messageViewToRow(view)), billing_overage_price_usd: '0.000000', max_price: '0.050000' };
    const back = messageRowToView(stored);
    expect(back.billing).toEqual({ monthlyAllowanceSegments: 0, overagePricePerSegmentUsd: 0 });
    expect(back.maxPrice).toBe(0.05);
  });

  it('round-trips any outbound lifecycle prefix (property)', () => {
    const paths: readonly (readonly MessageEvent[])[] = [
      [queued, dispatched, sent, delivered, redacted],
      [queued, dispatched, sent, undelivered],
      [queued, dispatched, failed],
      [queued, expired, redacted],
      [scheduled, canceled],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.nat(),
        fc.integer({ min: 1, max: 10 }),
        fc.option(fc.integer({ min: 1, max: 1_000_000 }).map((n) => n / 1e6), { nil: null }),
        (path, cut, segments, cost) => {
          const events = [accepted({ segments: { encoding: 'UCS-2', count: segments } }), ...path.slice(0, cut % (path.length + 1))];
          const view: MessageView = { ...fold(events), costUsd: cost };
          expect(messageRowToView(asStoredRow(messageViewToRow(view)))).toEqual(view);
        },
      ),
    );
  });
});
