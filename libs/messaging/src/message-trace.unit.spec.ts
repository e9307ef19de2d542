import { headers as natsHeaders } from 'nats';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { consumedMessageContext, logFieldsOfEvent, messageHeaders } from './message-trace';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;
const MESSAGE_ID = '7d0b6a2e-3f0c-4d61-9a38-52b2b7f6f2a1';
const ACCOUNT_ID = '0e1d8c1b-9b8f-4a57-8f7c-2f5a0c8d5e11';
const producer = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });

describe('message trace headers (relay → consumers)', () => {
  it('carries the publishing span and the log fields next to each other, and back out', () => {
    const fields = { correlationId: 'req-1', messageId: MESSAGE_ID, accountId: ACCOUNT_ID };
    const headers = messageHeaders(fields, producer);
    expect(headers.get('traceparent')).toBe(TRACEPARENT);
    expect(headers.get('Reach-Correlation-Id')).toBe('req-1');

    const consumed = consumedMessageContext(headers, () => {
      throw new Error('the payload is not read when the headers carry the context');
    });
    expect(trace.getSpanContext(consumed.parent)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
    expect(consumed.fields).toEqual(fields);
  });

  it('sets no trace headers outside a span', () => {
    const headers = messageHeaders({ correlationId: 'req-2' }, ROOT_CONTEXT);
    expect(headers.has('traceparent')).toBe(false);
    expect(headers.get('Reach-Correlation-Id')).toBe('req-2');
  });

  it("falls back to the relayed event's metadata when the headers carry no trace", () => {
    const payload = {
      streamId: `message-${MESSAGE_ID}`,
      metadata: { traceparent: TRACEPARENT, correlationId: 'req-3', accountId: ACCOUNT_ID, command: 'DispatchMessage' },
    };
    for (const headers of [undefined, natsHeaders()]) {
      const consumed = consumedMessageContext(headers, () => payload);
      expect(trace.getSpanContext(consumed.parent)?.spanId).toBe(SPAN_ID);
      expect(consumed.fields).toEqual({ correlationId: 'req-3', messageId: MESSAGE_ID, accountId: ACCOUNT_ID });
    }
  });

  it('survives payloads that are not events', () => {
    const notJson = consumedMessageContext(undefined, () => {
      throw new SyntaxError('Unexpected token');
    });
    expect(notJson).toEqual({ parent: ROOT_CONTEXT, fields: {} });
    expect(consumedMessageContext(undefined, () => ['x']).fields).toEqual({});
  });

  it('names the message of an event by its metadata, else by its stream; ignores unusable values', () => {
    expect(logFieldsOfEvent({ streamId: `message-${MESSAGE_ID}`, metadata: {} })).toEqual({ messageId: MESSAGE_ID });
    expect(logFieldsOfEvent({ streamId: 'account-1', metadata: { correlationId: 'bad\nid', accountId: 7 } })).toEqual({});
  });
});
