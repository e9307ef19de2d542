import fc from 'fast-check';
import { formatDeliveryReceipt, parseDeliveryReceipt, receiptDateOf } from './delivery-receipt';
import { SmppMalformedReceiptError } from './smpp.errors';

const text = (stat: string, err = '000'): string =>
  `id:abc123 sub:001 dlvrd:001 submit date:2501021530 done date:2501021531 stat:${stat} err:${err} text:Hello`;

describe('parseDeliveryReceipt', () => {
  it('maps DELIVRD to delivered with dlrDate = done date and err', () => {
    expect(parseDeliveryReceipt({ text: text('DELIVRD') })).toEqual({
      ok: true,
      receipt: { kind: 'final', messageId: 'abc123', outcome: 'delivered', stat: 'DELIVRD', err: '000', dlrDate: '2501021531', submitDate: '2501021530' },
    });
  });

  it.each(['EXPIRED', 'DELETED', 'UNDELIV', 'REJECTD', 'UNKNOWN'])('maps %s to undelivered', (stat) => {
    const result = parseDeliveryReceipt({ text: text(stat, '045') });
    expect(result).toMatchObject({ ok: true, receipt: { kind: 'final', outcome: 'undelivered', stat, err: '045', dlrDate: '2501021531' } });
  });

  it.each(['ACCEPTD', 'ENROUTE'])('reports %s as intermediate', (stat) => {
    expect(parseDeliveryReceipt({ text: text(stat) })).toEqual({ ok: true, receipt: { kind: 'intermediate', messageId: 'abc123', stat } });
  });

  it.each([
    [2, 'delivered', 'DELIVRD'],
    [3, 'undelivered', 'EXPIRED'],
    [4, 'undelivered', 'DELETED'],
    [5, 'undelivered', 'UNDELIV'],
    [7, 'undelivered', 'UNKNOWN'],
    [8, 'undelivered', 'REJECTD'],
  ] as const)('message_state %i wins over the text stat (%s)', (state, outcome, stat) => {
    const result = parseDeliveryReceipt({ text: text(state === 2 ? 'UNDELIV' : 'DELIVRD'), messageState: state });
    expect(result).toMatchObject({ ok: true, receipt: { kind: 'final', outcome, stat, dlrDate: '2501021531' } });
  });

  it.each([1, 6])('message_state %i is intermediate', (state) => {
    expect(parseDeliveryReceipt({ text: text('DELIVRD'), messageState: state })).toMatchObject({ ok: true, receipt: { kind: 'intermediate' } });
  });

  it('prefers receipted_message_id over the text id', () => {
    expect(parseDeliveryReceipt({ text: text('DELIVRD'), receiptedMessageId: 'TLV-9' })).toMatchObject({ ok: true, receipt: { messageId: 'TLV-9' } });
  });

  it('accepts TLVs alone, with no text', () => {
    expect(parseDeliveryReceipt({ text: '', receiptedMessageId: 'x1', messageState: 2 })).toEqual({
      ok: true,
      receipt: { kind: 'final', messageId: 'x1', outcome: 'delivered', stat: 'DELIVRD', err: null, dlrDate: null, submitDate: null },
    });
  });

  it('keeps YYMMDDhhmm when the SMSC sends seconds, and accepts lower-case fields', () => {
    const result = parseDeliveryReceipt({ text: 'id:7 sub:001 dlvrd:001 submit date:250102153000 done date:250102153145 stat:delivrd err:0 text:' });
    expect(result).toMatchObject({ ok: true, receipt: { outcome: 'delivered', dlrDate: '2501021531', err: '0' } });
  });

  it.each([
    ['', 'no message id'],
    ['hello there', 'no message id'],
    ['id:abc sub:001 dlvrd:001', 'no stat'],
    ['id:abc stat:WHATEVER', 'unknown stat'],
    ['id:abc done date:2513011200 stat:DELIVRD', 'done date'],
    ['id:abc done date:25010 stat:DELIVRD', 'done date'],
  ])('refuses %j with a typed error', (input, reason) => {
    const result = parseDeliveryReceipt({ text: input });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(SmppMalformedReceiptError);
      expect(result.error.code).toBe('SMPP_MALFORMED_RECEIPT');
      expect(result.error.reason).toContain(reason);
    }
  });

  it('refuses an unknown message_state', () => {
    expect(parseDeliveryReceipt({ text: text('DELIVRD'), messageState: 42 }).ok).toBe(false);
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.option(fc.string(), { nil: undefined }), fc.option(fc.integer(), { nil: undefined }), (t, id, state) => {
        const result = parseDeliveryReceipt({ text: t, receiptedMessageId: id, messageState: state });
        expect(typeof result.ok).toBe('boolean');
      }),
    );
  });

  it('round-trips what formatDeliveryReceipt writes', () => {
    const done = receiptDateOf(new Date(Date.UTC(2025, 0, 2, 15, 31)));
    expect(done).toBe('2501021531');
    const t = formatDeliveryReceipt({ messageId: 'm1', stat: 'EXPIRED', err: '000', submitDate: done, doneDate: done, text: 'a long message body here' });
    expect(parseDeliveryReceipt({ text: t })).toMatchObject({ ok: true, receipt: { messageId: 'm1', outcome: 'undelivered', stat: 'EXPIRED', dlrDate: done } });
  });
});
