import fc from 'fast-check';
import {
  deliveryErrors,
  isTerminalStatus,
  type MessageCommand,
  type MessageCommandOf,
  type MessageEvent,
  type MessageEventOf,
} from '@reach/contracts';
import {
  decide,
  evolve,
  foldMessage,
  initialState,
  MessageRuleViolation,
  type MessageRuleViolationCode,
  type MessageState,
} from './message.decider';

// ---------------------------------------------------------------------------------------------
// given / when / then

function given(events: readonly MessageEvent[]) {
  return {
    when(command: MessageCommand) {
      const run = (): MessageEvent[] => decide(command, foldMessage(events));
      return {
        then(expected: readonly MessageEvent[]): void {
          expect(run()).toEqual(expected);
        },
        thenThrows(code: MessageRuleViolationCode): void {
          let thrown: unknown;
          try {
            const produced = run();
            thrown = new Error(`expected ${code}, got ${JSON.stringify(produced)}`);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(MessageRuleViolation);
          expect((thrown as MessageRuleViolation).code).toBe(code);
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// fixtures

const messageId = '2a583efc-0c41-47b5-a1fe-885fc7ec2720';
const accountId = '7d4c1f3e-5b6a-4c8d-9e0f-1a2b3c4d5e6f';
const otherId = '11111111-2222-4333-8444-555555555555';
const ids = { messageId, accountId };

const T0 = '2026-06-08T13:30:06.000Z';
/** T0 plus some seconds, as the ISO string events carry. */
const at = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const VALIDITY = 14_400;
const EXPIRES = at(VALIDITY);
const SCHEDULED_FOR = at(3_600);

function acceptCommand(overrides: Partial<MessageCommandOf<'AcceptMessage'>['data']> = {}): MessageCommandOf<'AcceptMessage'> {
  return {
    type: 'AcceptMessage',
    data: {
      ...ids,
      now: T0,
      from: '+14155552671',
      to: '+14155553000',
      body: 'Your verification code is 482910',
      segments: { encoding: 'GSM-7', count: 1 },
      channel: 'device',
      dialect: 'reachcell',
      bulkId: null,
      statusCallback: null,
      maxPrice: null,
      validityPeriodSeconds: VALIDITY,
      scheduledFor: null,
      billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
      ...overrides,
    },
  };
}

const accepted = (overrides: Partial<MessageEventOf<'MessageAccepted'>['data']> = {}): MessageEventOf<'MessageAccepted'> => {
  const c = acceptCommand().data;
  return {
    type: 'MessageAccepted',
    data: {
      ...ids,
      from: c.from,
      to: c.to,
      body: c.body,
      segments: c.segments,
      channel: c.channel,
      dialect: c.dialect,
      bulkId: null,
      statusCallback: null,
      maxPrice: null,
      validityPeriodSeconds: VALIDITY,
      expiresAt: EXPIRES,
      scheduledFor: null,
      billing: c.billing,
      price: null,
      acceptedAt: T0,
      ...overrides,
    },
  };
};
const scheduled = (): MessageEvent => ({ type: 'MessageScheduled', data: { ...ids, scheduledFor: SCHEDULED_FOR } });
const queued = (queuedAt = T0): MessageEvent => ({ type: 'MessageQueued', data: { ...ids, from: '+14155552671', queuedAt } });
const dispatched = (dispatchedAt = at(1)): MessageEvent => ({ type: 'MessageDispatched', data: { ...ids, channel: 'device', dispatchedAt } });
const sent = (sentAt = at(2), providerMessageId: string | null = 'p-1'): MessageEvent => ({
  type: 'MessageSent',
  data: { ...ids, sentAt, providerMessageId },
});
const delivered = (deliveredAt = at(3), dlrDate: string | null = '2606081330'): MessageEvent => ({
  type: 'MessageDelivered',
  data: { ...ids, deliveredAt, dlrDate },
});
const undelivered = (undeliveredAt = at(3)): MessageEvent => ({
  type: 'MessageUndelivered',
  data: { ...ids, undeliveredAt, errorCode: 30005, reason: 'Destination handset unreachable', dlrDate: null },
});
const failed = (failedAt = at(3)): MessageEvent => ({
  type: 'MessageFailed',
  data: { ...ids, failedAt, errorCode: 30008, reason: 'The sending device reported an error' },
});
const canceled = (canceledAt = at(3)): MessageEvent => ({ type: 'MessageCanceled', data: { ...ids, canceledAt } });
const expired = (expiredAt = EXPIRES): MessageEvent => ({
  type: 'MessageExpired',
  data: { ...ids, expiredAt, errorCode: deliveryErrors.validityExpired.code, reason: deliveryErrors.validityExpired.reason },
});
const redacted = (redactedAt = at(10)): MessageEvent => ({ type: 'MessageBodyRedacted', data: { ...ids, redactedAt } });
const received = (): MessageEvent => ({
  type: 'MessageReceived',
  data: {
    ...ids,
    from: '+237671234567',
    to: '+14155552671',
    body: 'STOP',
    segments: { encoding: 'GSM-7', count: 1 },
    channel: 'device',
    receivedAt: T0,
  },
});

const ref = (now: string) => ({ ...ids, now });
const release = (now = SCHEDULED_FOR): MessageCommand => ({ type: 'ReleaseMessage', data: ref(now) });
const dispatch = (now = at(1), channel: 'simulated' | 'device' | 'smpp' = 'device'): MessageCommand => ({
  type: 'DispatchMessage',
  data: { ...ref(now), channel },
});
const expire = (now = EXPIRES): MessageCommand => ({ type: 'ExpireMessage', data: ref(now) });
const recordSent = (now = at(2), providerMessageId: string | null = 'p-1'): MessageCommand => ({
  type: 'RecordMessageSent',
  data: { ...ref(now), providerMessageId },
});
const recordDelivered = (now = at(3), dlrDate: string | null = '2606081330'): MessageCommand => ({
  type: 'RecordMessageDelivered',
  data: { ...ref(now), dlrDate },
});
const recordUndelivered = (now = at(3)): MessageCommand => ({
  type: 'RecordMessageUndelivered',
  data: { ...ref(now), errorCode: 30005, reason: 'Destination handset unreachable', dlrDate: null },
});
const failMessage = (now = at(3)): MessageCommand => ({
  type: 'FailMessage',
  data: { ...ref(now), errorCode: 30008, reason: 'The sending device reported an error' },
});
const cancel = (now = at(3)): MessageCommand => ({ type: 'CancelMessage', data: ref(now) });
const redact = (now = at(10)): MessageCommand => ({ type: 'RedactMessageBody', data: ref(now) });
const deleteMessage = (now = at(20)): MessageCommand => ({ type: 'DeleteMessage', data: ref(now) });
const deleted = (deletedAt = at(20)): MessageEvent => ({ type: 'MessageDeleted', data: { ...ids, deletedAt } });
const recordInbound = (now = T0): MessageCommand => ({
  type: 'RecordInboundMessage',
  data: {
    ...ref(now),
    from: '+237671234567',
    to: '+14155552671',
    body: 'STOP',
    segments: { encoding: 'GSM-7', count: 1 },
    channel: 'device',
  },
});

/** Event histories by the status they leave the message in. */
const histories = {
  accepted: [accepted()],
  scheduled: [accepted({ scheduledFor: SCHEDULED_FOR, expiresAt: at(3_600 + VALIDITY) }), scheduled()],
  queued: [accepted(), queued()],
  dispatched: [accepted(), queued(), dispatched()],
  sent: [accepted(), queued(), dispatched(), sent()],
  delivered: [accepted(), queued(), dispatched(), sent(), delivered()],
  undelivered: [accepted(), queued(), dispatched(), sent(), undelivered()],
  failed: [accepted(), queued(), failed()],
  canceled: [accepted(), canceled()],
  expired: [accepted(), queued(), expired()],
} satisfies Record<string, MessageEvent[]>;
type HistoryName = keyof typeof histories;
const terminal: HistoryName[] = ['delivered', 'undelivered', 'failed', 'canceled', 'expired'];
const all = Object.keys(histories) as HistoryName[];

// ---------------------------------------------------------------------------------------------

describe('AcceptMessage', () => {
  it('accepts and queues an immediate message; validity runs from now', () => {
    given([])
      .when(acceptCommand())
      .then([accepted(), queued(T0)]);
  });

  it('accepts and schedules a scheduled message; validity runs from the scheduled time', () => {
    given([])
      .when(acceptCommand({ scheduledFor: SCHEDULED_FOR }))
      .then([accepted({ scheduledFor: SCHEDULED_FOR, expiresAt: at(3_600 + VALIDITY) }), scheduled()]);
  });

  it('writes every timestamp in UTC', () => {
    given([])
      .when(acceptCommand({ now: '2026-06-08T15:30:06+02:00', scheduledFor: '2026-06-08T16:30:06+02:00', validityPeriodSeconds: 60 }))
      .then([accepted({ acceptedAt: T0, scheduledFor: at(3_600), expiresAt: at(3_660), validityPeriodSeconds: 60 }), scheduled()]);
  });

  it.each(all)('is an idempotent no-op for the same message (%s)', (name) => {
    given(histories[name]).when(acceptCommand()).then([]);
  });

  it('does not compare the payload of a retried accept, only its identity', () => {
    given(histories.queued)
      .when(acceptCommand({ body: 'something else', now: at(60) }))
      .then([]);
  });

  it('refuses another message id on an existing stream', () => {
    given(histories.queued)
      .when(acceptCommand({ messageId: otherId }))
      .thenThrows('MESSAGE_EXISTS');
  });

  it("refuses the same id under another account (not the same message)", () => {
    given(histories.queued)
      .when(acceptCommand({ accountId: otherId }))
      .thenThrows('MESSAGE_EXISTS');
  });

  it('refuses the id of an inbound message', () => {
    given([received()]).when(acceptCommand()).thenThrows('MESSAGE_EXISTS');
  });
});

describe('AcceptMessage with a maxPrice', () => {
  const price = { amount: 0.05, unit: 'usd' };

  it('accepts and fails at once (20201) when the price is above maxPrice; nothing is queued', () => {
    given([]).when(acceptCommand({ maxPrice: 0.01, price })).then([
      accepted({ maxPrice: 0.01, price }),
      { type: 'MessageFailed', data: { ...ids, failedAt: T0, errorCode: 20201, reason: deliveryErrors.costAboveMaxPrice.reason } },
    ]);
  });

  it('fails a scheduled message at once too', () => {
    const events = decide(acceptCommand({ maxPrice: 0.01, price, scheduledFor: SCHEDULED_FOR }), initialState());
    expect(events.map((e) => e.type)).toEqual(['MessageAccepted', 'MessageFailed']);
  });

  it('queues a message whose price is exactly maxPrice', () => {
    given([]).when(acceptCommand({ maxPrice: 0.05, price })).then([accepted({ maxPrice: 0.05, price }), queued()]);
  });
});

describe('DeleteMessage', () => {
  it.each(terminal)('deletes a %s message', (name) => {
    given(histories[name]).when(deleteMessage()).then([deleted()]);
  });

  it.each(all.filter((n) => !terminal.includes(n)))('refuses to delete a %s message', (name) => {
    given(histories[name]).when(deleteMessage()).thenThrows('INVALID_TRANSITION');
  });

  it('refuses to delete an inbound message', () => {
    given([received()]).when(deleteMessage()).thenThrows('INVALID_TRANSITION');
  });

  it('is a no-op when repeated, and every other command then finds no message', () => {
    const history = [...histories.delivered, deleted()];
    given(history).when(deleteMessage()).then([]);
    for (const command of [redact(), cancel(), failMessage(), release()]) given(history).when(command).thenThrows('MESSAGE_NOT_FOUND');
    given([]).when(deleteMessage()).thenThrows('MESSAGE_NOT_FOUND');
  });

  it('forgets the body of the deleted message', () => {
    const state = foldMessage([...histories.failed, deleted()]);
    expect(state).toMatchObject({ status: 'failed', body: null, deleted: true });
  });
});

describe('ReleaseMessage', () => {
  it('queues a scheduled message', () => {
    given(histories.scheduled).when(release()).then([queued(SCHEDULED_FOR)]);
  });

  it('queues an accepted message that was neither queued nor scheduled', () => {
    given(histories.accepted).when(release(at(5))).then([queued(at(5))]);
  });

  it.each(['queued', 'dispatched', 'sent', ...terminal] as HistoryName[])('is a no-op once %s', (name) => {
    given(histories[name]).when(release()).then([]);
  });
});

describe('DispatchMessage', () => {
  it('dispatches a queued message on the channel that took it', () => {
    given(histories.queued)
      .when(dispatch(at(1), 'smpp'))
      .then([{ type: 'MessageDispatched', data: { ...ids, channel: 'smpp', dispatchedAt: at(1) } }]);
  });

  it('dispatches one millisecond before the deadline', () => {
    const justBefore = new Date(Date.parse(EXPIRES) - 1).toISOString();
    given(histories.queued)
      .when(dispatch(justBefore))
      .then([{ type: 'MessageDispatched', data: { ...ids, channel: 'device', dispatchedAt: justBefore } }]);
  });

  it('expires instead when the validity deadline has come', () => {
    given(histories.queued).when(dispatch(EXPIRES)).then([expired(EXPIRES)]);
    given(histories.queued).when(dispatch(at(VALIDITY + 60))).then([expired(at(VALIDITY + 60))]);
  });

  it.each(['accepted', 'scheduled'] as HistoryName[])('refuses a message not yet released (%s)', (name) => {
    given(histories[name]).when(dispatch()).thenThrows('INVALID_TRANSITION');
  });

  it.each(['dispatched', 'sent', ...terminal] as HistoryName[])('is a no-op once %s', (name) => {
    given(histories[name]).when(dispatch()).then([]);
  });
});

describe('ExpireMessage', () => {
  it.each(['accepted', 'queued'] as HistoryName[])('expires a %s message at its deadline', (name) => {
    given(histories[name]).when(expire(EXPIRES)).then([expired(EXPIRES)]);
  });

  it('expires a scheduled message after its own deadline (scheduled time + validity)', () => {
    given(histories.scheduled).when(expire(at(3_600 + VALIDITY))).then([expired(at(3_600 + VALIDITY))]);
    given(histories.scheduled).when(expire(EXPIRES)).thenThrows('NOT_EXPIRED_YET');
  });

  it('refuses before the deadline', () => {
    given(histories.queued).when(expire(at(VALIDITY - 1))).thenThrows('NOT_EXPIRED_YET');
  });

  it.each(['dispatched', 'sent', ...terminal] as HistoryName[])('is a no-op once %s (the dispatch won or it is over)', (name) => {
    given(histories[name]).when(expire(at(VALIDITY * 2))).then([]);
  });
});

describe('RecordMessageSent', () => {
  it('records the send of a dispatched message', () => {
    given(histories.dispatched).when(recordSent(at(2), 'p-1')).then([sent(at(2), 'p-1')]);
  });

  it.each(['accepted', 'scheduled', 'queued'] as HistoryName[])('refuses a message never dispatched (%s)', (name) => {
    given(histories[name]).when(recordSent()).thenThrows('INVALID_TRANSITION');
  });

  it.each(['sent', ...terminal] as HistoryName[])('is a no-op once %s', (name) => {
    given(histories[name]).when(recordSent()).then([]);
  });
});

describe('RecordMessageDelivered', () => {
  it('records delivery of a sent message', () => {
    given(histories.sent).when(recordDelivered(at(3), '2606081330')).then([delivered(at(3), '2606081330')]);
  });

  it('records the send first when the channel skipped it', () => {
    given(histories.dispatched).when(recordDelivered(at(3), null)).then([sent(at(3), null), delivered(at(3), null)]);
  });

  it.each(['accepted', 'scheduled', 'queued'] as HistoryName[])('refuses a message never dispatched (%s)', (name) => {
    given(histories[name]).when(recordDelivered()).thenThrows('INVALID_TRANSITION');
  });

  it.each(terminal)('is a no-op once %s', (name) => {
    given(histories[name]).when(recordDelivered()).then([]);
  });
});

describe('RecordMessageUndelivered', () => {
  it('records non-delivery of a sent message', () => {
    given(histories.sent).when(recordUndelivered(at(3))).then([undelivered(at(3))]);
  });

  it('records the send first when the channel skipped it', () => {
    given(histories.dispatched).when(recordUndelivered(at(3))).then([sent(at(3), null), undelivered(at(3))]);
  });

  it.each(['accepted', 'scheduled', 'queued'] as HistoryName[])('refuses a message never dispatched (%s)', (name) => {
    given(histories[name]).when(recordUndelivered()).thenThrows('INVALID_TRANSITION');
  });

  it.each(terminal)('is a no-op once %s', (name) => {
    given(histories[name]).when(recordUndelivered()).then([]);
  });
});

describe('FailMessage', () => {
  it.each(['accepted', 'scheduled', 'queued', 'dispatched', 'sent'] as HistoryName[])('fails a %s message', (name) => {
    given(histories[name]).when(failMessage(at(3))).then([failed(at(3))]);
  });

  it.each(terminal)('is a no-op once %s', (name) => {
    given(histories[name]).when(failMessage()).then([]);
  });
});

describe('CancelMessage', () => {
  it.each(['accepted', 'scheduled'] as HistoryName[])('cancels a %s message', (name) => {
    given(histories[name]).when(cancel(at(3))).then([canceled(at(3))]);
  });

  it('is a no-op once canceled', () => {
    given(histories.canceled).when(cancel()).then([]);
  });

  it.each(['queued', 'dispatched', 'sent', 'delivered', 'undelivered', 'failed', 'expired'] as HistoryName[])(
    'is too late once %s',
    (name) => {
      given(histories[name]).when(cancel()).thenThrows('TOO_LATE_TO_CANCEL');
    },
  );
});

describe('RecordInboundMessage', () => {
  it('records an inbound message', () => {
    given([]).when(recordInbound()).then([received()]);
  });

  it('is an idempotent no-op when the same inbound message is reported again', () => {
    given([received()]).when(recordInbound(at(30))).then([]);
    given([received(), redacted()]).when(recordInbound(at(30))).then([]);
  });

  it('refuses the id of an outbound message', () => {
    given(histories.queued).when(recordInbound()).thenThrows('MESSAGE_EXISTS');
  });
});

describe('RedactMessageBody', () => {
  it.each(all)('redacts the body of a %s message', (name) => {
    given(histories[name]).when(redact(at(10))).then([redacted(at(10))]);
  });

  it('redacts an inbound message', () => {
    given([received()]).when(redact(at(10))).then([redacted(at(10))]);
  });

  it('is a no-op once redacted', () => {
    given([...histories.delivered, redacted()]).when(redact()).then([]);
  });
});

describe('commands on a message that does not exist', () => {
  const commands = [release(), dispatch(), expire(), recordSent(), recordDelivered(), recordUndelivered(), failMessage(), cancel(), redact()];

  it.each(commands.map((c) => [c.type, c] as const))('%s → MESSAGE_NOT_FOUND', (_type, command) => {
    given([]).when(command).thenThrows('MESSAGE_NOT_FOUND');
  });

  it.each(commands.map((c) => [c.type, c] as const))('%s naming another message or account → MESSAGE_NOT_FOUND', (_type, command) => {
    given(histories.queued)
      .when({ ...command, data: { ...command.data, messageId: otherId } } as MessageCommand)
      .thenThrows('MESSAGE_NOT_FOUND');
    given(histories.queued)
      .when({ ...command, data: { ...command.data, accountId: otherId } } as MessageCommand)
      .thenThrows('MESSAGE_NOT_FOUND');
  });
});

describe('outbound lifecycle commands on an inbound message', () => {
  const commands = [release(), dispatch(), expire(), recordSent(), recordDelivered(), recordUndelivered(), failMessage(), cancel()];

  it.each(commands.map((c) => [c.type, c] as const))('%s → INVALID_TRANSITION', (_type, command) => {
    given([received()]).when(command).thenThrows('INVALID_TRANSITION');
  });
});

describe('time', () => {
  it('refuses a command whose now is not an ISO time', () => {
    expect(() => decide(dispatch('yesterday'), foldMessage(histories.queued))).toThrow(RangeError);
  });
});

describe('evolve / foldMessage', () => {
  it('starts from the initial state', () => {
    expect(initialState()).toEqual({ status: 'initial' });
    expect(foldMessage([])).toEqual({ status: 'initial' });
  });

  it('folds a delivered message', () => {
    expect(foldMessage(histories.delivered)).toEqual({
      status: 'delivered',
      direction: 'outbound',
      ...ids,
      from: '+14155552671',
      to: '+14155553000',
      body: 'Your verification code is 482910',
      redacted: false,
      segments: { encoding: 'GSM-7', count: 1 },
      channel: 'device',
      dialect: 'reachcell',
      bulkId: null,
      statusCallback: null,
      maxPrice: null,
      billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
      validityPeriodSeconds: VALIDITY,
      expiresAt: EXPIRES,
      scheduledFor: null,
      acceptedAt: T0,
      queuedAt: T0,
      dispatchedAt: at(1),
      sentAt: at(2),
      providerMessageId: 'p-1',
      deliveredAt: at(3),
      dlrDate: '2606081330',
      finishedAt: at(3),
      errorCode: null,
      failureReason: null,
    } satisfies MessageState);
  });

  it('keeps the error of a failed, expired or undelivered message', () => {
    expect(foldMessage(histories.expired)).toMatchObject({
      status: 'expired',
      errorCode: deliveryErrors.validityExpired.code,
      failureReason: deliveryErrors.validityExpired.reason,
      finishedAt: EXPIRES,
    });
    expect(foldMessage(histories.undelivered)).toMatchObject({ status: 'undelivered', errorCode: 30005, finishedAt: at(3) });
    expect(foldMessage(histories.failed)).toMatchObject({ status: 'failed', errorCode: 30008, finishedAt: at(3) });
  });

  it('takes the dispatching channel', () => {
    expect(foldMessage([accepted(), queued(), { type: 'MessageDispatched', data: { ...ids, channel: 'smpp', dispatchedAt: at(1) } }])).toMatchObject({
      status: 'dispatched',
      channel: 'smpp',
      dispatchedAt: at(1),
    });
  });

  it('folds an inbound message and its redaction', () => {
    expect(foldMessage([received(), redacted()])).toEqual({
      status: 'received',
      direction: 'inbound',
      ...ids,
      from: '+237671234567',
      to: '+14155552671',
      body: null,
      redacted: true,
      segments: { encoding: 'GSM-7', count: 1 },
      channel: 'device',
      receivedAt: T0,
    } satisfies MessageState);
  });

  it('redacts only the body of a terminal message', () => {
    const state = foldMessage([...histories.delivered, redacted()]);
    expect(state).toMatchObject({ status: 'delivered', body: null, redacted: true });
  });

  it.each(terminal)('never moves a %s message, whatever events follow', (name) => {
    const before = foldMessage(histories[name]);
    const after = foldMessage([...histories[name], queued(), dispatched(), sent(), delivered(), undelivered(), failed(), canceled(), expired()]);
    expect(after).toEqual(before);
  });

  it('ignores lifecycle events before the message exists and a second accept', () => {
    expect(foldMessage([queued(), dispatched(), redacted()])).toEqual({ status: 'initial' });
    expect(foldMessage([...histories.queued, accepted({ body: 'other' })])).toEqual(foldMessage(histories.queued));
    expect(foldMessage([received(), accepted()])).toEqual(foldMessage([received()]));
  });

  it('ignores events that do not follow from the current status', () => {
    expect(foldMessage([accepted(), dispatched()])).toEqual(foldMessage([accepted()]));
    expect(foldMessage([accepted(), queued(), delivered()])).toEqual(foldMessage([accepted(), queued()]));
  });
});

// ---------------------------------------------------------------------------------------------
// properties

describe('properties of the lifecycle', () => {
  const VALID_FOR = 3_600;
  // Instants around the validity deadline, so that dispatch and expiry race.
  const now = fc.integer({ min: -60, max: VALID_FOR * 2 }).map(at);
  const channel = fc.constantFrom('simulated' as const, 'device' as const, 'smpp' as const);
  const command: fc.Arbitrary<MessageCommand> = fc.oneof(
    now.map((n) => acceptCommand({ now: n, validityPeriodSeconds: VALID_FOR })),
    now.map(release),
    fc.tuple(now, channel).map(([n, c]) => dispatch(n, c)),
    now.map(expire),
    fc.tuple(now, fc.option(fc.string({ minLength: 1, maxLength: 8 }))).map(([n, p]) => recordSent(n, p)),
    fc.tuple(now, fc.option(fc.constant('2606081330'))).map(([n, d]) => recordDelivered(n, d)),
    now.map(recordUndelivered),
    now.map(failMessage),
    now.map(cancel),
    now.map(redact),
    now.map(deleteMessage),
    now.map(recordInbound),
  );
  const start = fc.option(fc.integer({ min: 1, max: VALID_FOR }).map(at), { nil: null });

  const terminalEvents = new Set(['MessageDelivered', 'MessageUndelivered', 'MessageFailed', 'MessageCanceled', 'MessageExpired']);

  it('terminal is final, dispatch and expiry exclude each other, one terminal event at most, every decided event applies, commands are idempotent', () => {
    fc.assert(
      fc.property(start, fc.array(command, { maxLength: 30 }), (scheduledFor, commands) => {
        const history: MessageEvent[] = decide(acceptCommand({ scheduledFor, validityPeriodSeconds: VALID_FOR }), initialState());
        let state = foldMessage(history);
        for (const cmd of commands) {
          let events: MessageEvent[];
          try {
            events = decide(cmd, state);
          } catch (error) {
            if (error instanceof MessageRuleViolation) continue;
            throw error;
          }
          for (const event of events) {
            const next = evolve(state, event);
            // decide only produces events that change the state.
            expect(next).not.toEqual(state);
            if (state.status !== 'initial' && isTerminalStatus(state.status)) expect(next.status).toBe(state.status);
            state = next;
            history.push(event);
          }
          // The same command again (at-least-once delivery) adds nothing.
          if (events.length > 0) {
            try {
              expect(decide(cmd, state)).toEqual([]);
            } catch (error) {
              if (!(error instanceof MessageRuleViolation)) throw error;
            }
          }
        }
        const dispatchedOrExpired = history.filter((e) => e.type === 'MessageDispatched' || e.type === 'MessageExpired');
        expect(dispatchedOrExpired.length).toBeLessThanOrEqual(1);
        expect(history.filter((e) => terminalEvents.has(e.type)).length).toBeLessThanOrEqual(1);
        expect(history.filter((e) => e.type === 'MessageReceived')).toEqual([]);
        expect(foldMessage(history)).toEqual(state);
      }),
      { numRuns: 500 },
    );
  });

  it('a delivered or undelivered message was dispatched and sent before, in that order', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
        const history: MessageEvent[] = decide(acceptCommand({ validityPeriodSeconds: VALID_FOR }), initialState());
        let state = foldMessage(history);
        for (const cmd of commands) {
          try {
            const events = decide(cmd, state);
            history.push(...events);
            state = events.reduce(evolve, state);
          } catch (error) {
            if (!(error instanceof MessageRuleViolation)) throw error;
          }
        }
        const order = history.map((e) => e.type);
        const receipt = order.findIndex((t) => t === 'MessageDelivered' || t === 'MessageUndelivered');
        if (receipt >= 0) {
          const sentAt = order.indexOf('MessageSent');
          const dispatchedAt = order.indexOf('MessageDispatched');
          expect(dispatchedAt).toBeGreaterThanOrEqual(0);
          expect(sentAt).toBeGreaterThan(dispatchedAt);
          expect(receipt).toBeGreaterThan(sentAt);
        }
      }),
    );
  });
});
