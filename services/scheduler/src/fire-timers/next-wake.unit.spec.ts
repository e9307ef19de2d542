import { nextWakeDelayMs, type WakeInputs } from './next-wake';

const now = new Date('2026-06-08T13:30:00.000Z');
const inMs = (ms: number) => new Date(now.getTime() + ms);
const base: WakeInputs = { now, nextDueAt: null, fired: null, batchSize: 500, maxSleepMs: 250, busyRetryMs: 25 };

describe('nextWakeDelayMs', () => {
  it('goes again at once after a full batch: more may be due', () => {
    expect(nextWakeDelayMs({ ...base, fired: 500, nextDueAt: inMs(10_000) })).toBe(0);
  });

  it('sleeps the longest allowed while there are no timers', () => {
    expect(nextWakeDelayMs({ ...base, nextDueAt: null })).toBe(250);
  });

  it('sleeps until the next timer falls due', () => {
    expect(nextWakeDelayMs({ ...base, nextDueAt: inMs(120) })).toBe(120);
    expect(nextWakeDelayMs({ ...base, fired: 3, nextDueAt: inMs(1) })).toBe(1);
  });

  it('never sleeps longer than the cap, so timers recorded by other replicas are seen in time', () => {
    expect(nextWakeDelayMs({ ...base, nextDueAt: inMs(86_400_000) })).toBe(250);
  });

  it('runs a round when a timer is due', () => {
    expect(nextWakeDelayMs({ ...base, fired: null, nextDueAt: inMs(-5) })).toBe(0);
    expect(nextWakeDelayMs({ ...base, fired: null, nextDueAt: now })).toBe(0);
  });

  it('backs off briefly when the last round took nothing though timers are due: another round holds them', () => {
    expect(nextWakeDelayMs({ ...base, fired: 0, nextDueAt: inMs(-5) })).toBe(25);
    expect(nextWakeDelayMs({ ...base, fired: 0, nextDueAt: now })).toBe(25);
  });

  it('goes again at once when it fired some and more fell due meanwhile', () => {
    expect(nextWakeDelayMs({ ...base, fired: 7, nextDueAt: inMs(-5) })).toBe(0);
  });

  it('never exceeds the cap even for the busy retry', () => {
    expect(nextWakeDelayMs({ ...base, fired: 0, maxSleepMs: 10, busyRetryMs: 25, nextDueAt: inMs(-1) })).toBe(10);
  });
});
