import { parse as parseQueryString } from 'node:querystring';
import fc from 'fast-check';
import { deliveryErrors, type MessageEvent, type MessageEventOf } from '@reach/contracts';
import { reachSignature, validateReachSignature, type ReachSignatureParams } from '@reach/webhook-signatures';
import { deliveryIdFor } from './delivery-id';
import { callbackEndpointKey, planMessageDeliveries, reachCellEventOf, type StoredMessageEvent } from './plan-message-deliveries';
import type { PlannedDelivery, WebhookSubscription } from './planned-delivery';
import { reachCellWebhookEvents } from './reachcell-events';

// ---------------------------------------------------------------------------------------------
// fixtures

const accountId = '7d4c1f3e-5b6a-4c8d-9e0f-1a2b3c4d5e6f';
const otherAccountId = '0c9a8b7c-6d5e-4f30-8a1b-2c3d4e5f6a7b';
const messageId = '2a583efc-0c41-47b5-a1fe-885fc7ec2720';
const ref = { messageId, accountId };
const callbackUrl = 'https://hooks.example.com/reach/status?tenant=acme';
const apiKey = 'ak_0123456789abcdefghijABCDEFGHIJ0123456789';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
/** T0 plus some seconds, as the ISO string events carry. */
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

function accepted(overrides: Partial<MessageEventOf<'MessageAccepted'>['data']> = {}): MessageEventOf<'MessageAccepted'> {
  return {
    type: 'MessageAccepted',
    data: {
      ...ref,
      from: '+14155552671',
      to: '+14155553000',
      body: 'Your code is 482910',
      segments: { encoding: 'GSM-7', count: 1 },
      channel: 'simulated',
      dialect: 'reach',
      bulkId: 'bulk-7',
      statusCallback: callbackUrl,
      maxPrice: null,
      validityPeriodSeconds: 14_400,
      expiresAt: at(14_400),
      scheduledFor: null,
      billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
      acceptedAt: at(0),
      ...overrides,
    },
  };
}

const scheduled: MessageEventOf<'MessageScheduled'> = { type: 'MessageScheduled', data: { ...ref, scheduledFor: at(3_600) } };
const queued: MessageEventOf<'MessageQueued'> = { type: 'MessageQueued', data: { ...ref, from: '+14155552671', queuedAt: at(1) } };
const dispatched: MessageEventOf<'MessageDispatched'> = { type: 'MessageDispatched', data: { ...ref, channel: 'simulated', dispatchedAt: at(2) } };
const sent: MessageEventOf<'MessageSent'> = { type: 'MessageSent', data: { ...ref, sentAt: at(3), providerMessageId: 'smsc-42' } };
const delivered: MessageEventOf<'MessageDelivered'> = { type: 'MessageDelivered', data: { ...ref, deliveredAt: at(9), dlrDate: '2611221000' } };
const deliveredWithoutDlr: MessageEventOf<'MessageDelivered'> = { type: 'MessageDelivered', data: { ...ref, deliveredAt: at(9), dlrDate: null } };
const undelivered: MessageEventOf<'MessageUndelivered'> = {
  type: 'MessageUndelivered',
  data: {
    ...ref,
    undeliveredAt: at(10),
    errorCode: deliveryErrors.unreachableDestination.code,
    reason: deliveryErrors.unreachableDestination.reason,
    dlrDate: '2611221001',
  },
};
const failed: MessageEventOf<'MessageFailed'> = {
  type: 'MessageFailed',
  data: { ...ref, failedAt: at(4), errorCode: deliveryErrors.deviceError.code, reason: deliveryErrors.deviceError.reason },
};
const failedOnPrice: MessageEventOf<'MessageFailed'> = {
  type: 'MessageFailed',
  data: { ...ref, failedAt: at(1), errorCode: deliveryErrors.costAboveMaxPrice.code, reason: deliveryErrors.costAboveMaxPrice.reason },
};
const expired: MessageEventOf<'MessageExpired'> = {
  type: 'MessageExpired',
  data: { ...ref, expiredAt: at(14_400), errorCode: deliveryErrors.validityExpired.code, reason: deliveryErrors.validityExpired.reason },
};
const canceled: MessageEventOf<'MessageCanceled'> = { type: 'MessageCanceled', data: { ...ref, canceledAt: at(60) } };
const redacted: MessageEventOf<'MessageBodyRedacted'> = { type: 'MessageBodyRedacted', data: { ...ref, redactedAt: at(100) } };
const deleted: MessageEventOf<'MessageDeleted'> = { type: 'MessageDeleted', data: { ...ref, deletedAt: at(200) } };
const received: MessageEventOf<'MessageReceived'> = {
  type: 'MessageReceived',
  data: {
    ...ref,
    from: '+14155553000',
    to: '+14155552671',
    body: 'STOP',
    segments: { encoding: 'GSM-7', count: 1 },
    channel: 'device',
    receivedAt: at(5),
  },
};

/** The store's event id of revision r. */
const eventIdAt = (revision: number): string => `00000000-0000-4000-8000-${String(revision).padStart(12, '0')}`;
/** Revision r is recorded 10·r seconds after T0. */
const recordedAtRevision = (revision: number): Date => new Date(T0 + revision * 10_000);

/** The events as the store hands them back: revisions 0, 1, 2, … */
function stream(...events: MessageEvent[]): StoredMessageEvent[] {
  return events.map((event, revision) => ({
    eventId: eventIdAt(revision),
    revision: BigInt(revision),
    recordedAt: recordedAtRevision(revision),
    event,
  }));
}

const happyPath = (): StoredMessageEvent[] => stream(accepted(), queued, dispatched, sent, delivered);

let webhookCount = 0;
function webhook(events: readonly string[], overrides: Partial<WebhookSubscription> = {}): WebhookSubscription {
  webhookCount += 1;
  const id = `5eb00000-0000-4000-8000-${String(webhookCount).padStart(12, '0')}`;
  return { id, accountId, url: `https://app.example.com/hooks/${webhookCount}`, events, createdAt: new Date(T0 - 86_400_000), ...overrides };
}

const callbacksOf = (planned: readonly PlannedDelivery[]) => planned.filter((p) => p.kind === 'status_callback');
const webhookCallsOf = (planned: readonly PlannedDelivery[]) => planned.filter((p) => p.kind === 'webhook');

/** A callback's form parameters, parsed the way a receiver would; a repeated name would fail. */
function formOf(delivery: PlannedDelivery): Record<string, string> {
  const search = new URLSearchParams(delivery.payload);
  const names = [...search.keys()];
  expect(new Set(names).size).toBe(names.length);
  return Object.fromEntries(search);
}

function envelopeOf(delivery: PlannedDelivery): { event_id: string; event_type: string; api_version: string; timestamp: string; data: Record<string, unknown> } {
  return JSON.parse(delivery.payload);
}

/** A compact picture of a plan: kind, target, event type, sequence. */
const outline = (planned: readonly PlannedDelivery[]): string[] =>
  planned.map((p) => `${p.kind === 'webhook' ? `webhook ${p.webhookId}` : 'callback'} ${p.eventType} @${p.sequence}`);

const baseParams = {
  messageId,
  src: '+14155552671',
  dest: '+14155553000',
  body: 'Your code is 482910',
  bulkId: 'bulk-7',
  numSegments: '1',
  numMedia: '0',
  errorCode: '',
  errorMessage: '',
};

// ---------------------------------------------------------------------------------------------

describe('planMessageDeliveries: status callbacks', () => {
  describe('given a Reach message with a statusCallback', () => {
    describe('when it goes accepted → queued → dispatched → sent → delivered (with a dlrDate)', () => {
      const planned = planMessageDeliveries(happyPath(), []);

      it('then it calls back for queued, sent and delivered, in order, sequence = revision; none for accepted or dispatched', () => {
        expect(planned.map((p) => [p.eventType, p.sequence])).toEqual([
          ['queued', 1n],
          ['sent', 3n],
          ['delivered', 4n],
        ]);
      });

      it('then every callback is a form POST to the registered URL, named by its event', () => {
        expect(planned[0]).toEqual<PlannedDelivery>({
          id: deliveryIdFor(eventIdAt(1), 'status-callback'),
          accountId,
          kind: 'status_callback',
          webhookId: null,
          messageId,
          eventId: eventIdAt(1),
          eventType: 'queued',
          url: callbackUrl,
          endpointKey: 'origin:https://hooks.example.com',
          orderingKey: `callback:${messageId}`,
          sequence: 1n,
          contentType: 'application/x-www-form-urlencoded',
          payload: expect.any(String),
        });
        for (const [index, revision] of [1, 3, 4].entries()) {
          expect(planned[index]).toMatchObject({ id: deliveryIdFor(eventIdAt(revision), 'status-callback'), eventId: eventIdAt(revision), url: callbackUrl });
        }
      });

      it('then each callback carries exactly the documented parameters, dlrDate only on the receipt that has one', () => {
        expect(planned.map(formOf)).toEqual([
          { ...baseParams, status: 'queued' },
          { ...baseParams, status: 'sent' },
          { ...baseParams, status: 'delivered', dlrDate: '2611221000' },
        ]);
      });
    });

    it('when the receipt has no done date, then the delivered callback has no dlrDate at all', () => {
      const planned = planMessageDeliveries(stream(accepted(), queued, dispatched, sent, deliveredWithoutDlr), []);
      const last = formOf(planned[planned.length - 1]!);
      expect(last).toEqual({ ...baseParams, status: 'delivered' });
      expect('dlrDate' in last).toBe(false);
    });

    it('when it is scheduled and then queued, then the scheduling itself is not called back', () => {
      const planned = planMessageDeliveries(stream(accepted({ scheduledFor: at(3_600) }), scheduled, queued, dispatched, sent), []);
      expect(planned.map((p) => [p.eventType, p.sequence])).toEqual([
        ['queued', 2n],
        ['sent', 4n],
      ]);
    });

    it('when it has no bulk identifier, then bulkId is an empty string', () => {
      const planned = planMessageDeliveries(stream(accepted({ bulkId: null }), queued), []);
      expect(formOf(planned[0]!)).toEqual({ ...baseParams, bulkId: '', status: 'queued' });
    });

    it.each<[string, MessageEvent[], Record<string, string>[]]>([
      [
        'failed on the device',
        [accepted(), queued, dispatched, failed],
        [
          { ...baseParams, status: 'queued' },
          { ...baseParams, status: 'failed', errorCode: '30008', errorMessage: deliveryErrors.deviceError.reason },
        ],
      ],
      [
        'failed on maxPrice right after acceptance',
        [accepted(), failedOnPrice],
        [{ ...baseParams, status: 'failed', errorCode: '20201', errorMessage: deliveryErrors.costAboveMaxPrice.reason }],
      ],
      [
        'expired in the queue (Reach shows it as failed)',
        [accepted(), queued, expired],
        [
          { ...baseParams, status: 'queued' },
          { ...baseParams, status: 'failed', errorCode: '30001', errorMessage: deliveryErrors.validityExpired.reason },
        ],
      ],
      [
        'canceled while scheduled',
        [accepted({ scheduledFor: at(3_600) }), scheduled, canceled],
        [{ ...baseParams, status: 'canceled' }],
      ],
      [
        'undelivered according to the carrier',
        [accepted(), queued, dispatched, sent, undelivered],
        [
          { ...baseParams, status: 'queued' },
          { ...baseParams, status: 'sent' },
          { ...baseParams, status: 'undelivered', errorCode: '30005', errorMessage: deliveryErrors.unreachableDestination.reason, dlrDate: '2611221001' },
        ],
      ],
    ])('when it is %s, then the callbacks carry the status, errorCode and errorMessage', (_label, events, expected) => {
      const planned = planMessageDeliveries(stream(...events), []);
      expect(planned.map(formOf)).toEqual(expected);
      expect(planned.map((p) => p.eventType)).toEqual(expected.map((params) => params['status']));
    });

    it('when the body is UCS-2 with emoji and form-special characters, then it round-trips through the form encoding', () => {
      const body = 'Привет, 你好! 👋🏽 «ünïcödé» a+b=c&d 100% ~ end';
      const planned = planMessageDeliveries(stream(accepted({ body, segments: { encoding: 'UCS-2', count: 1 } }), queued, dispatched, sent, delivered), []);
      expect(planned).toHaveLength(3);
      for (const callback of planned) {
        // Sent as ASCII: every non-ASCII byte and every special character percent-encoded.
        expect(callback.payload).toMatch(/^[\x21-\x7e]+$/);
        expect(formOf(callback)['body']).toBe(body);
        expect(parseQueryString(callback.payload)['body']).toBe(body);
      }
    });

    it('when the message has no statusCallback, then nothing is called back', () => {
      expect(planMessageDeliveries(stream(accepted({ statusCallback: null }), queued, dispatched, sent, delivered), [])).toEqual([]);
      expect(planMessageDeliveries(stream(accepted({ statusCallback: null }), queued, failed), [])).toEqual([]);
    });

    it('when the body is redacted after delivery, then nothing more is called back and the earlier callbacks keep their body', () => {
      const before = planMessageDeliveries(happyPath(), []);
      const after = planMessageDeliveries(stream(accepted(), queued, dispatched, sent, delivered, redacted), []);
      expect(after).toEqual(before);
      expect(after.map((p) => formOf(p)['body'])).toEqual(['Your code is 482910', 'Your code is 482910', 'Your code is 482910']);
    });

    it('when the body is redacted mid-way, then earlier callbacks keep the body and later ones no longer carry it', () => {
      const events = [accepted(), queued, redacted, dispatched, sent, delivered];
      const planned = planMessageDeliveries(stream(...events), []);
      expect(planned.map((p) => [p.eventType, formOf(p)['body']])).toEqual([
        ['queued', 'Your code is 482910'],
        ['sent', ''],
        ['delivered', ''],
      ]);
      expect(planned.slice(0, 1)).toEqual(planMessageDeliveries(stream(...events.slice(0, 2)), []));
    });

    it('when the message is deleted, then nothing after the deletion is reported', () => {
      const before = planMessageDeliveries(happyPath(), []);
      expect(planMessageDeliveries(stream(accepted(), queued, dispatched, sent, delivered, deleted), [])).toEqual(before);
      // Defensive: an event after a deletion (which the decider never appends) is ignored.
      expect(planMessageDeliveries(stream(accepted(), queued, dispatched, sent, delivered, deleted, undelivered), [])).toEqual(before);
    });

    it('then a receiver validates the X-Reach-Signature over the planned URL and the parameters it parses from the body', () => {
      const body = 'é 漢字 👋🏽 a+b=c&d 100%';
      const url = 'https://example.com:8443/cb?x=1&y=a%20b';
      const planned = planMessageDeliveries(stream(accepted({ body, statusCallback: url }), queued, dispatched, sent, undelivered), []);
      expect(planned).toHaveLength(3);
      for (const callback of planned) {
        // The sender signs what it sends: the planned URL and the parameters of the planned payload.
        const signature = reachSignature(apiKey, callback.url, Object.fromEntries(new URLSearchParams(callback.payload)));
        // The receiver parses the raw body with its own parser (node:querystring here).
        const parsed = parseQueryString(callback.payload);
        const params: ReachSignatureParams = Object.fromEntries(
          Object.entries(parsed).flatMap(([name, value]) => (value === undefined ? [] : [[name, value]])),
        );
        expect(params['body']).toBe(body);
        expect(validateReachSignature(apiKey, signature, url, params)).toBe(true);
        expect(validateReachSignature(apiKey, signature, url, { ...params, status: 'delivered' })).toBe(false);
        expect(validateReachSignature('ak_other', signature, url, params)).toBe(false);
      }
    });
  });

  it('shares one concurrency lane per callback origin (scheme, host and port)', () => {
    expect(callbackEndpointKey('https://hooks.example.com/a?b=1')).toBe('origin:https://hooks.example.com');
    expect(callbackEndpointKey('https://hooks.example.com:443/other')).toBe('origin:https://hooks.example.com');
    expect(callbackEndpointKey('HTTPS://Hooks.Example.COM/x')).toBe('origin:https://hooks.example.com');
    expect(callbackEndpointKey('https://hooks.example.com:8443/a')).toBe('origin:https://hooks.example.com:8443');
    expect(callbackEndpointKey('http://hooks.example.com/a')).toBe('origin:http://hooks.example.com');
    expect(callbackEndpointKey('not a url')).toBe('origin:not a url');
  });
});

describe('planMessageDeliveries: account webhooks', () => {
  const allEvents = [...reachCellWebhookEvents];

  describe('given an account with webhooks subscribed to different events', () => {
    const onlyDelivered = webhook(['sms.delivered']);
    const sentAndFailed = webhook(['sms.sent', 'sms.failed']);
    const everything = webhook(allEvents);
    const numbersOnly = webhook(['number.assigned', 'number.released']);
    const anotherAccounts = webhook(allEvents, { accountId: otherAccountId });
    const webhooks = [onlyDelivered, sentAndFailed, everything, numbersOnly, anotherAccounts];

    describe('when a message goes accepted → queued → dispatched → sent → delivered', () => {
      const planned = planMessageDeliveries(happyPath(), webhooks);

      it("then each webhook gets only the events it subscribes to, and only the account's own webhooks get any", () => {
        expect(outline(planned)).toEqual([
          'callback queued @1',
          'callback sent @3',
          `webhook ${sentAndFailed.id} sms.sent @3`,
          `webhook ${everything.id} sms.sent @3`,
          'callback delivered @4',
          `webhook ${onlyDelivered.id} sms.delivered @4`,
          `webhook ${everything.id} sms.delivered @4`,
        ]);
      });

      it('then each call is a JSON POST to the webhook URL in its own lane, ordered per webhook and message', () => {
        const call = webhookCallsOf(planned).find((p) => p.webhookId === everything.id && p.eventType === 'sms.delivered');
        expect(call).toEqual<PlannedDelivery>({
          id: deliveryIdFor(eventIdAt(4), `webhook:${everything.id}`),
          accountId,
          kind: 'webhook',
          webhookId: everything.id,
          messageId,
          eventId: eventIdAt(4),
          eventType: 'sms.delivered',
          url: everything.url,
          endpointKey: `webhook:${everything.id}`,
          orderingKey: `webhook:${everything.id}:${messageId}`,
          sequence: 4n,
          contentType: 'application/json',
          payload: expect.any(String),
        });
      });

      it('then the body is the envelope {event_id, event_type, api_version, timestamp, data} with the ReachCell message as data', () => {
        const calls = webhookCallsOf(planned).filter((p) => p.webhookId === everything.id);
        const [sentCall, deliveredCall] = calls.map(envelopeOf);
        expect(Object.keys(deliveredCall!)).toEqual(['event_id', 'event_type', 'api_version', 'timestamp', 'data']);
        const message = {
          message_id: messageId,
          from: '+14155552671',
          to: '+14155553000',
          body: 'Your code is 482910',
          direction: 'outbound',
          segment_count: 1,
          failure_reason: null,
          sent_at: '2026-11-22T10:00:03Z',
          cost_usd: null,
          created_at: '2026-11-22T10:00:00Z',
        };
        expect(sentCall).toEqual({
          event_id: eventIdAt(3),
          event_type: 'sms.sent',
          api_version: 'v1',
          timestamp: '2026-11-22T10:00:30Z',
          data: { ...message, status: 'sent', delivered_at: null },
        });
        expect(deliveredCall).toEqual({
          event_id: eventIdAt(4),
          event_type: 'sms.delivered',
          api_version: 'v1',
          timestamp: '2026-11-22T10:00:40Z',
          data: { ...message, status: 'delivered', delivered_at: '2026-11-22T10:00:09Z' },
        });
      });

      it('then the same event gets a different delivery id for each target', () => {
        const ids = planned.map((p) => p.id);
        expect(new Set(ids).size).toBe(ids.length);
      });
    });
  });

  it('does not send a webhook the events recorded before it was created (one created at the very moment gets it)', () => {
    const createdBetween = webhook(allEvents, { createdAt: new Date(recordedAtRevision(3).getTime() + 1) });
    const createdAtSent = webhook(allEvents, { createdAt: recordedAtRevision(3) });
    const createdLater = webhook(allEvents, { createdAt: new Date(recordedAtRevision(4).getTime() + 1) });
    const planned = planMessageDeliveries(happyPath(), [createdBetween, createdAtSent, createdLater]);
    expect(outline(webhookCallsOf(planned))).toEqual([
      `webhook ${createdAtSent.id} sms.sent @3`,
      `webhook ${createdBetween.id} sms.delivered @4`,
      `webhook ${createdAtSent.id} sms.delivered @4`,
    ]);
  });

  it.each<[string, MessageEvent[], number, string]>([
    ['failed', [accepted(), queued, dispatched, failed], 3, deliveryErrors.deviceError.reason],
    ['expired', [accepted(), queued, expired], 2, deliveryErrors.validityExpired.reason],
    ['undelivered', [accepted(), queued, dispatched, sent, undelivered], 4, deliveryErrors.unreachableDestination.reason],
    ['canceled', [accepted({ scheduledFor: at(3_600) }), scheduled, canceled], 2, 'Canceled before it was sent'],
  ])('reports a message that ended %s as sms.failed', (_label, events, revision, failureReason) => {
    const failedOnly = webhook(['sms.failed']);
    const planned = webhookCallsOf(planMessageDeliveries(stream(...events), [failedOnly]));
    expect(planned).toHaveLength(1);
    expect(planned[0]).toMatchObject({ eventType: 'sms.failed', sequence: BigInt(revision), eventId: eventIdAt(revision) });
    expect(envelopeOf(planned[0]!)).toMatchObject({
      event_type: 'sms.failed',
      event_id: eventIdAt(revision),
      data: { message_id: messageId, status: 'failed', failure_reason: failureReason },
    });
  });

  it('reports an inbound message as sms.received, and never calls a status callback for it', () => {
    const receivedOnly = webhook(['sms.received']);
    const sentOnly = webhook(['sms.sent', 'sms.delivered', 'sms.failed']);
    const anotherAccounts = webhook(allEvents, { accountId: otherAccountId });
    const planned = planMessageDeliveries(stream(received), [receivedOnly, sentOnly, anotherAccounts]);
    expect(outline(planned)).toEqual([`webhook ${receivedOnly.id} sms.received @0`]);
    expect(envelopeOf(planned[0]!)).toEqual({
      event_id: eventIdAt(0),
      event_type: 'sms.received',
      api_version: 'v1',
      timestamp: '2026-11-22T10:00:00Z',
      data: {
        message_id: messageId,
        from: '+14155553000',
        to: '+14155552671',
        body: 'STOP',
        direction: 'inbound',
        segment_count: 1,
        status: 'received',
        failure_reason: null,
        sent_at: null,
        delivered_at: null,
        cost_usd: null,
        created_at: '2026-11-22T10:00:05Z',
      },
    });
    // A redaction later reports nothing new.
    expect(planMessageDeliveries(stream(received, redacted), [receivedOnly])).toEqual(planned);
  });

  it('keeps a non-ASCII body intact in the JSON envelope', () => {
    const body = 'Привет, 你好! 👋🏽 "quoted" \\ back';
    const planned = planMessageDeliveries(stream(accepted({ body, segments: { encoding: 'UCS-2', count: 1 } }), queued, dispatched, sent), [webhook(['sms.sent'])]);
    expect(envelopeOf(webhookCallsOf(planned)[0]!).data['body']).toBe(body);
  });

  it('shows the body as it was when the event happened: redacted later, earlier calls keep it', () => {
    const everything = webhook(allEvents);
    const events = [accepted(), queued, dispatched, sent, redacted, delivered];
    const planned = webhookCallsOf(planMessageDeliveries(stream(...events), [everything]));
    expect(planned.map((p) => [p.eventType, envelopeOf(p).data['body']])).toEqual([
      ['sms.sent', 'Your code is 482910'],
      ['sms.delivered', null],
    ]);
  });

  it('plans webhooks even for a message without a statusCallback', () => {
    const everything = webhook(allEvents);
    const planned = planMessageDeliveries(stream(accepted({ statusCallback: null }), queued, dispatched, sent, delivered), [everything]);
    expect(callbacksOf(planned)).toEqual([]);
    expect(outline(planned)).toEqual([`webhook ${everything.id} sms.sent @3`, `webhook ${everything.id} sms.delivered @4`]);
  });
});

describe('planMessageDeliveries: determinism', () => {
  const webhooks = [webhook(reachCellWebhookEvents), webhook(['sms.delivered'])];

  it('planning the same stream twice gives identical deliveries (same ids, same payloads)', () => {
    const first = planMessageDeliveries(happyPath(), webhooks);
    const second = planMessageDeliveries(happyPath(), webhooks);
    expect(second).toEqual(first);
    expect(second.map((p) => [p.id, p.payload])).toEqual(first.map((p) => [p.id, p.payload]));
  });

  it('planning a prefix of the stream gives a prefix of the plan', () => {
    const full = happyPath();
    const plan = planMessageDeliveries(full, webhooks);
    for (let length = 0; length <= full.length; length += 1) {
      const partial = planMessageDeliveries(full.slice(0, length), webhooks);
      expect(partial).toEqual(plan.slice(0, partial.length));
    }
  });

  it('an empty stream, or one that does not start a message, plans nothing', () => {
    expect(planMessageDeliveries([], webhooks)).toEqual([]);
    expect(planMessageDeliveries(stream(queued, sent), webhooks)).toEqual([]);
  });
});

describe('reachCellEventOf', () => {
  const cases: [MessageEvent, string | null][] = [
    [accepted(), null],
    [scheduled, null],
    [queued, null],
    [dispatched, null],
    [sent, 'sms.sent'],
    [delivered, 'sms.delivered'],
    [undelivered, 'sms.failed'],
    [failed, 'sms.failed'],
    [expired, 'sms.failed'],
    [canceled, 'sms.failed'],
    [received, 'sms.received'],
    [redacted, null],
    [deleted, null],
  ];
  it.each(cases.map(([event, expected]) => [event.type, event, expected] as const))('%s → %s', (_type, event, expected) => {
    expect(reachCellEventOf(event)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// properties over random valid lifecycles

const callbackStatuses = ['queued', 'failed', 'sent', 'canceled', 'delivered', 'undelivered'];

/** The outbound paths of PRODUCT.md §3 after acceptance (and, maybe, scheduling). */
const outboundPaths: readonly MessageEvent[][] = [
  [],
  [canceled],
  [failedOnPrice],
  [queued],
  [queued, expired],
  [queued, failed],
  [queued, dispatched],
  [queued, dispatched, failed],
  [queued, dispatched, sent],
  [queued, dispatched, sent, delivered],
  [queued, dispatched, sent, deliveredWithoutDlr],
  [queued, dispatched, sent, undelivered],
];
const terminalTypes = new Set(['MessageDelivered', 'MessageUndelivered', 'MessageFailed', 'MessageExpired', 'MessageCanceled', 'MessageReceived']);

const arbLifecycle: fc.Arbitrary<MessageEvent[]> = fc
  .record({
    inbound: fc.boolean(),
    body: fc.string({ unit: 'grapheme', maxLength: 40 }),
    statusCallback: fc.option(fc.constantFrom(callbackUrl, 'http://cb.example.org:8080/x?y=1', 'https://example.com/cb'), { nil: null }),
    bulkId: fc.option(fc.constantFrom('bulk-1', 'b ü+&'), { nil: null }),
    scheduledFirst: fc.boolean(),
    path: fc.constantFrom(...outboundPaths),
    redactAt: fc.option(fc.nat(), { nil: null }),
    deleteAtEnd: fc.boolean(),
  })
  .map(({ inbound, body, statusCallback, bulkId, scheduledFirst, path, redactAt, deleteAtEnd }) => {
    const events: MessageEvent[] = inbound
      ? [{ ...received, data: { ...received.data, body } }]
      : [
          accepted({ body, statusCallback, bulkId, scheduledFor: scheduledFirst ? at(3_600) : null }),
          ...(scheduledFirst && path[0] !== failedOnPrice ? [scheduled] : []),
          ...path,
        ];
    if (redactAt !== null) events.splice(1 + (redactAt % events.length), 0, redacted);
    const last = events[events.length - 1];
    if (deleteAtEnd && !inbound && last !== undefined && terminalTypes.has(last.type)) events.push(deleted);
    return events;
  });

const arbWebhooks: fc.Arbitrary<WebhookSubscription[]> = fc
  .array(
    fc.record({
      events: fc.subarray([...reachCellWebhookEvents]),
      createdAfterSeconds: fc.integer({ min: -10, max: 120 }),
      own: fc.boolean(),
    }),
    { maxLength: 4 },
  )
  .map((specs) =>
    specs.map((spec, index) => ({
      id: `5eb11111-0000-4000-8000-${String(index).padStart(12, '0')}`,
      accountId: spec.own ? accountId : otherAccountId,
      url: `https://app.example.com/p/${index}`,
      events: spec.events,
      createdAt: new Date(T0 + spec.createdAfterSeconds * 1000),
    })),
  );

describe('planMessageDeliveries: properties', () => {
  it('is deterministic and prefix-closed: planning up to revision r gives the first deliveries of the whole plan', () => {
    fc.assert(
      fc.property(arbLifecycle, arbWebhooks, (events, webhooks) => {
        const full = stream(...events);
        const plan = planMessageDeliveries(full, webhooks);
        expect(planMessageDeliveries(full, webhooks)).toEqual(plan);
        for (let length = 0; length <= full.length; length += 1) {
          const partial = planMessageDeliveries(full.slice(0, length), webhooks);
          expect(partial).toEqual(plan.slice(0, partial.length));
        }
      }),
    );
  });

  it('plans each (event, target) once, in sequence order per ordering key, only to the right targets', () => {
    fc.assert(
      fc.property(arbLifecycle, arbWebhooks, (events, webhooks) => {
        const full = stream(...events);
        const plan = planMessageDeliveries(full, webhooks);
        expect(new Set(plan.map((p) => p.id)).size).toBe(plan.length);
        const lastSequence = new Map<string, bigint>();
        for (const delivery of plan) {
          const previous = lastSequence.get(delivery.orderingKey);
          if (previous !== undefined) expect(delivery.sequence > previous).toBe(true);
          lastSequence.set(delivery.orderingKey, delivery.sequence);
          const stored = full.find((s) => s.eventId === delivery.eventId);
          expect(stored?.revision).toBe(delivery.sequence);
          expect(delivery.accountId).toBe(accountId);
          if (delivery.kind === 'status_callback') {
            expect(delivery.id).toBe(deliveryIdFor(delivery.eventId, 'status-callback'));
            expect(callbackStatuses).toContain(delivery.eventType);
            expect(formOf(delivery)['status']).toBe(delivery.eventType);
            expect(delivery.url).toBe(events[0]?.type === 'MessageAccepted' ? events[0].data.statusCallback : undefined);
          } else {
            const target = webhooks.find((w) => w.id === delivery.webhookId);
            expect(target).toBeDefined();
            expect(delivery.id).toBe(deliveryIdFor(delivery.eventId, `webhook:${target?.id}`));
            expect(target?.accountId).toBe(accountId);
            expect(target?.events).toContain(delivery.eventType);
            expect(target!.createdAt.getTime()).toBeLessThanOrEqual(stored!.recordedAt.getTime());
            expect(envelopeOf(delivery).event_type).toBe(delivery.eventType);
          }
        }
      }),
    );
  });

  it('every planned callback validates with X-Reach-Signature and carries the body as it was at that point', () => {
    fc.assert(
      fc.property(arbLifecycle, (events) => {
        const plan = planMessageDeliveries(stream(...events), []);
        const redactedAt = events.findIndex((e) => e.type === 'MessageBodyRedacted');
        const originalBody = events[0]?.type === 'MessageAccepted' ? events[0].data.body : '';
        for (const callback of plan) {
          const params = formOf(callback);
          const signature = reachSignature(apiKey, callback.url, params);
          expect(validateReachSignature(apiKey, signature, callback.url, params)).toBe(true);
          const afterRedaction = redactedAt !== -1 && callback.sequence > BigInt(redactedAt);
          expect(params['body']).toBe(afterRedaction ? '' : originalBody);
        }
      }),
    );
  });
});
