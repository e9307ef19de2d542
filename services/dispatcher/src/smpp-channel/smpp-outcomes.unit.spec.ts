import { SmppSubmitRejectedError, type SmppMoMessage } from '@reach/smpp-channel';
import {
  type PartReceipt,
  type SubmittedPart,
  bindLostFailure,
  decideMessageReceipt,
  moKey,
  noRouteFailure,
  submitRejectedFailure,
  undeliveredError,
  validityElapsedFailure,
} from './smpp-outcomes';

const delivered = (dlrDate: string): PartReceipt => ({ outcome: 'delivered', stat: 'DELIVRD', err: '000', dlrDate });
const undelivered = (stat: string, err: string | null, dlrDate: string | null = '2601021200'): PartReceipt => ({ outcome: 'undelivered', stat, err, dlrDate });

function parts(count: number, receipts: (PartReceipt | null)[]): SubmittedPart[] {
  return receipts.map((receipt, i) => ({
    connectorId: 'c1',
    carrierMessageId: `id${i + 1}`,
    messageId: 'm1',
    partIndex: i + 1,
    partCount: count,
    receipt,
  }));
}

describe('undeliveredError (PRODUCT.md §4 stat words)', () => {
  it.each([
    ['EXPIRED', 30001],
    ['REJECTD', 30004],
    ['UNDELIV', 30005],
    ['UNKNOWN', 30005],
    ['DELETED', 30005],
    ['SKIPPED', 30005],
  ])('maps %s to %i, keeping stat and err in the reason', (stat, code) => {
    const error = undeliveredError({ stat, err: '045' });
    expect(error.code).toBe(code);
    expect(error.reason).toContain(`stat ${stat}`);
    expect(error.reason).toContain('err 045');
  });

  it('says so when the receipt had no err', () => {
    expect(undeliveredError({ stat: 'UNDELIV', err: null }).reason).toContain('err none');
  });
});

describe('decideMessageReceipt', () => {
  it('is delivered with the receipt date for a single part', () => {
    expect(decideMessageReceipt(parts(1, [delivered('2601021205')]))).toEqual({ kind: 'delivered', dlrDate: '2601021205' });
  });

  it('waits for every part and takes the latest done date', () => {
    expect(decideMessageReceipt(parts(3, [delivered('2601021205'), null, delivered('2601021201')]))).toEqual({ kind: 'pending', receipted: 2, total: 3 });
    expect(decideMessageReceipt(parts(3, [delivered('2601021205'), delivered('2601021209'), delivered('2601021201')]))).toEqual({
      kind: 'delivered',
      dlrDate: '2601021209',
    });
  });

  it('is pending while rows of some parts are missing', () => {
    expect(decideMessageReceipt(parts(2, [delivered('2601021205')]))).toEqual({ kind: 'pending', receipted: 1, total: 2 });
    expect(decideMessageReceipt([])).toEqual({ kind: 'pending', receipted: 0, total: 0 });
  });

  it('is undelivered as soon as one part is, with the first undelivered part’s error', () => {
    expect(decideMessageReceipt(parts(3, [delivered('2601021205'), null, undelivered('EXPIRED', '000', '2601021300')]))).toEqual({
      kind: 'undelivered',
      errorCode: 30001,
      reason: 'Validity period elapsed before the message could be sent (receipt stat EXPIRED, err 000) on part 3 of 3',
      dlrDate: '2601021300',
      partIndex: 3,
    });
    const both = decideMessageReceipt(parts(2, [undelivered('REJECTD', '002'), undelivered('UNDELIV', '001')]));
    expect(both).toMatchObject({ kind: 'undelivered', errorCode: 30004, reason: expect.stringContaining('on part 1 of 2'), partIndex: 1 });
  });

  it('names no part for a single-part message', () => {
    expect(decideMessageReceipt(parts(1, [undelivered('UNDELIV', '001')]))).toEqual({
      kind: 'undelivered',
      errorCode: 30005,
      reason: 'Destination handset unreachable (receipt stat UNDELIV, err 001)',
      dlrDate: '2601021200',
      partIndex: 1,
    });
  });

  it('counts a part submitted twice by its first receipt', () => {
    const twice: SubmittedPart[] = [...parts(2, [delivered('2601021205'), null]), { ...parts(2, [null, delivered('2601021207')])[1]! , carrierMessageId: 'again' }];
    expect(decideMessageReceipt(twice)).toEqual({ kind: 'delivered', dlrDate: '2601021207' });
  });
});

describe('failures', () => {
  it('carry the stable codes and say why', () => {
    expect(noRouteFailure('+14155550100')).toEqual({ code: 30003, reason: 'No SMPP connector is routed for sender +14155550100' });
    expect(submitRejectedFailure(new SmppSubmitRejectedError(0x45, 1))).toEqual({ code: 30004, reason: 'SMSC rejected submit_sm: ESME_RSUBMITFAIL (0x00000045)' });
    expect(submitRejectedFailure(new SmppSubmitRejectedError(0x400, 1)).reason).toBe('SMSC rejected submit_sm: command_status 0x00000400');
    expect(validityElapsedFailure().code).toBe(30001);
    expect(bindLostFailure(3)).toMatchObject({ code: 30003, reason: expect.stringContaining('3 times') });
  });

  it('tells transient submit statuses from verdicts', () => {
    expect([0x58, 0x14, 0x08].map((s) => new SmppSubmitRejectedError(s, 1).transient)).toEqual([true, true, true]);
    expect([0x45, 0x0b, 0x0a].map((s) => new SmppSubmitRejectedError(s, 1).transient)).toEqual([false, false, false]);
  });
});

describe('moKey', () => {
  const mo: SmppMoMessage = {
    source: '14155550177',
    sourceTon: 1,
    destination: '14155550100',
    destinationTon: 1,
    text: 'YES',
    dataCoding: 0,
    concatenation: null,
    userMessageReference: null,
    receivedAt: Date.parse('2026-01-02T12:00:10Z'),
  };

  it('is the same for a re-sent copy within the minute and differs for another connector, text or minute', () => {
    const k = moKey('c1', mo);
    expect(moKey('c1', { ...mo, receivedAt: mo.receivedAt + 30_000 })).toBe(k);
    expect(moKey('c2', mo)).not.toBe(k);
    expect(moKey('c1', { ...mo, text: 'NO' })).not.toBe(k);
    expect(moKey('c1', { ...mo, receivedAt: mo.receivedAt + 60_000 })).not.toBe(k);
    expect(moKey('c1', { ...mo, concatenation: { reference: 7, total: 2 } })).not.toBe(k);
  });

  it('uses the SMSC’s user_message_reference instead of the time when there is one', () => {
    const a = { ...mo, userMessageReference: 12 };
    expect(moKey('c1', { ...a, receivedAt: a.receivedAt + 3_600_000 })).toBe(moKey('c1', a));
    expect(moKey('c1', { ...a, userMessageReference: 13 })).not.toBe(moKey('c1', a));
  });
});
