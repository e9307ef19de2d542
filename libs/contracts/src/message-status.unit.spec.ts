import { internalStatusesFor, isTerminalStatus, messageStatuses, reachCellStatusOf, reachCellStatuses, reachStatusOf, reachStatuses } from './message-status';

describe('one lifecycle, two dialects', () => {
  it('shows ReachCell its six words: no scheduled, canceled or undelivered', () => {
    expect(messageStatuses.map((s) => [s, reachCellStatusOf(s)])).toEqual([
      ['accepted', 'queued'],
      ['scheduled', 'queued'],
      ['queued', 'queued'],
      ['dispatched', 'dispatched'],
      ['sent', 'sent'],
      ['delivered', 'delivered'],
      ['undelivered', 'failed'],
      ['failed', 'failed'],
      ['canceled', 'failed'],
      ['expired', 'failed'],
      ['received', 'received'],
    ]);
  });

  it('shows Reach its own words: a dispatched message is "sending", an expired one "failed"', () => {
    expect(reachStatusOf('dispatched')).toBe('sending');
    expect(reachStatusOf('expired')).toBe('failed');
    expect(reachStatusOf('canceled')).toBe('canceled');
    expect(reachStatusOf('undelivered')).toBe('undelivered');
    for (const s of messageStatuses) expect(reachStatuses).toContain(reachStatusOf(s));
  });

  it('turns each status word of a list filter into exactly the internal statuses shown with that word', () => {
    for (const word of reachCellStatuses) {
      const internal = internalStatusesFor('reachcell', word);
      expect(internal.every((s) => reachCellStatusOf(s) === word)).toBe(true);
      expect(messageStatuses.filter((s) => reachCellStatusOf(s) === word)).toEqual(internal);
    }
    expect(internalStatusesFor('reachcell', 'failed')).toEqual(['undelivered', 'failed', 'canceled', 'expired']);
    expect(internalStatusesFor('reach', 'receiving')).toEqual([]);
  });

  it('knows which statuses never change again', () => {
    expect(messageStatuses.filter(isTerminalStatus)).toEqual(['delivered', 'undelivered', 'failed', 'canceled', 'expired', 'received']);
  });
});
