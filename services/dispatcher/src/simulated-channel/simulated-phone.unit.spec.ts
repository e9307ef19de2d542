import fc from 'fast-check';
import type { ChannelReports } from '../channels/outbound-channel';
import { dlrDateOf, SimulatedChannel, type Scheduler, type SimulationSettings } from './simulated-phone';

/**
 * The scheduler is an injected port: this fake only collects callbacks, and the test decides
 * when each one runs. No global fake timers.
 */
class ManualScheduler implements Scheduler {
  private nextHandle = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  readonly cleared: unknown[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.pending.set(handle, { fn, ms });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.cleared.push(handle);
    this.pending.delete(handle as number);
  }

  delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms);
  }

  /** Runs the callbacks due now (not the ones they schedule); returns how many ran. */
  runPending(): number {
    const due = [...this.pending.entries()];
    for (const [handle, timer] of due) {
      this.pending.delete(handle);
      timer.fn();
    }
    return due.length;
  }

  /** Runs until nothing is left. */
  runAll(): void {
    for (let i = 0; i < 100 && this.runPending() > 0; i++);
  }
}

type Report =
  | { kind: 'sent'; messageId: string; providerMessageId: string | null }
  | { kind: 'delivered'; messageId: string; dlrDate: string | null }
  | { kind: 'undelivered'; messageId: string; errorCode: number; reason: string; dlrDate: string | null }
  | { kind: 'failed'; messageId: string; errorCode: number; reason: string };

function recordingReports(): ChannelReports & { log: Report[] } {
  const log: Report[] = [];
  const record = (report: Report) => {
    log.push(report);
    return Promise.resolve();
  };
  return {
    log,
    sent: (messageId, providerMessageId) => record({ kind: 'sent', messageId, providerMessageId }),
    delivered: (messageId, dlrDate) => record({ kind: 'delivered', messageId, dlrDate }),
    undelivered: (messageId, errorCode, reason, dlrDate) => record({ kind: 'undelivered', messageId, errorCode, reason, dlrDate }),
    failed: (messageId, errorCode, reason) => record({ kind: 'failed', messageId, errorCode, reason }),
    received: () => Promise.reject(new Error('the simulated channel records no inbound SMS')),
  };
}

const MESSAGE = { messageId: '2a583efc-0c41-47b5-a1fe-885fc7ec2720', from: '+14155552671', to: '+14155553000', body: 'hi' };
const OTHER = { ...MESSAGE, messageId: '11111111-2222-4333-8444-555555555555' };
const NOW = new Date('2026-06-08T13:30:06.000Z');

function setup(settings: Partial<SimulationSettings> = {}, random: () => number = () => 0.5) {
  const timers = new ManualScheduler();
  const reports = recordingReports();
  const channel = new SimulatedChannel(
    { sendLatencyMs: 150, deliveryLatencyMs: 900, failureRate: 0, undeliveredRate: 0, ...settings },
    () => true,
    random,
    timers,
    () => NOW,
  );
  void channel.start({ reports, wake: () => undefined });
  return { timers, reports, channel };
}

describe('SimulatedChannel', () => {
  it('reports sent after the send latency, then delivered after the delivery latency with the clock as dlrDate', () => {
    const { timers, reports, channel } = setup();
    channel.send(MESSAGE);
    expect(reports.log).toEqual([]);
    expect(timers.delays()).toEqual([150]);
    expect(channel.inFlight).toBe(1);

    timers.runPending();
    expect(reports.log).toEqual([{ kind: 'sent', messageId: MESSAGE.messageId, providerMessageId: 'sim-2a583efc' }]);
    expect(timers.delays()).toEqual([900]);
    expect(channel.inFlight).toBe(1);

    timers.runPending();
    expect(reports.log).toEqual([
      { kind: 'sent', messageId: MESSAGE.messageId, providerMessageId: 'sim-2a583efc' },
      { kind: 'delivered', messageId: MESSAGE.messageId, dlrDate: '2606081330' },
    ]);
    expect(reports.log[1]).toMatchObject({ dlrDate: expect.stringMatching(/^\d{10}$/) });
    expect(timers.pending.size).toBe(0);
    expect(channel.inFlight).toBe(0);
  });

  it('reports failed (and nothing else) when the send fails', () => {
    const { timers, reports, channel } = setup({ failureRate: 1 });
    channel.send(MESSAGE);
    timers.runAll();
    expect(reports.log).toEqual([{ kind: 'failed', messageId: MESSAGE.messageId, errorCode: 30008, reason: expect.any(String) }]);
    expect(channel.inFlight).toBe(0);
  });

  it('reports sent then undelivered when the receipt says so', () => {
    const { timers, reports, channel } = setup({ undeliveredRate: 1 });
    channel.send(MESSAGE);
    timers.runAll();
    expect(reports.log).toEqual([
      { kind: 'sent', messageId: MESSAGE.messageId, providerMessageId: 'sim-2a583efc' },
      { kind: 'undelivered', messageId: MESSAGE.messageId, errorCode: 30005, reason: expect.any(String), dlrDate: '2606081330' },
    ]);
    expect(channel.inFlight).toBe(0);
  });

  it('draws the send outcome and the receipt outcome from the injected random, with strict thresholds', () => {
    // failureRate 0.3: a draw of exactly 0.3 is not a failure; undeliveredRate 0.3: 0.29 is undelivered.
    const draws = [0.3, 0.29];
    const random = jest.fn(() => draws.shift() ?? 0.99);
    const { timers, reports, channel } = setup({ failureRate: 0.3, undeliveredRate: 0.3 }, random);
    channel.send(MESSAGE);
    timers.runAll();
    expect(reports.log.map((r) => r.kind)).toEqual(['sent', 'undelivered']);
    expect(random).toHaveBeenCalledTimes(2);

    draws.push(0.29);
    channel.send(OTHER);
    timers.runAll();
    expect(reports.log.map((r) => r.kind)).toEqual(['sent', 'undelivered', 'failed']);
  });

  it('takes the same message only once while it holds it, through send and receipt', () => {
    const { timers, reports, channel } = setup();
    channel.send(MESSAGE);
    channel.send(MESSAGE);
    expect(timers.pending.size).toBe(1);
    timers.runPending(); // sent; awaiting the receipt
    channel.send(MESSAGE);
    expect(timers.pending.size).toBe(1);
    timers.runAll();
    expect(reports.log.map((r) => r.kind)).toEqual(['sent', 'delivered']);
    expect(channel.inFlight).toBe(0);
  });

  it('holds different messages independently', () => {
    const { timers, reports, channel } = setup();
    channel.send(MESSAGE);
    channel.send(OTHER);
    expect(channel.inFlight).toBe(2);
    timers.runAll();
    expect(reports.log.filter((r) => r.kind === 'delivered').map((r) => r.messageId).sort()).toEqual(
      [MESSAGE.messageId, OTHER.messageId].sort(),
    );
  });

  it('awaitReceipt reports only the receipt, after the delivery latency', () => {
    const { timers, reports, channel } = setup();
    channel.awaitReceipt(MESSAGE.messageId);
    expect(timers.delays()).toEqual([900]);
    expect(channel.inFlight).toBe(1);
    timers.runAll();
    expect(reports.log).toEqual([{ kind: 'delivered', messageId: MESSAGE.messageId, dlrDate: '2606081330' }]);
    expect(channel.inFlight).toBe(0);
  });

  it('stop() clears every pending timer and forgets what it held', () => {
    const { timers, reports, channel } = setup();
    channel.send(MESSAGE);
    channel.send(OTHER);
    timers.runPending(); // both sent, both awaiting receipts
    const handles = [...timers.pending.keys()];
    expect(handles).toHaveLength(2);

    void channel.stop();
    expect(timers.cleared.sort()).toEqual(handles.sort());
    expect(timers.pending.size).toBe(0);
    expect(channel.inFlight).toBe(0);
    timers.runAll();
    expect(reports.log.map((r) => r.kind)).toEqual(['sent', 'sent']);

    // Nothing held any more: the same message can be handed over again (resume after a restart).
    channel.send(MESSAGE);
    expect(channel.inFlight).toBe(1);
  });
});

describe('dlrDateOf', () => {
  it.each([
    ['2026-06-08T13:30:06.000Z', '2606081330'],
    ['2000-01-02T03:04:59.999Z', '0001020304'],
    ['2099-12-31T23:59:00.000Z', '9912312359'],
    // UTC, whatever the offset the instant was written with.
    ['2026-01-01T00:30:00.000+02:00', '2512312230'],
  ])('%s → %s', (iso, expected) => {
    expect(dlrDateOf(new Date(iso))).toBe(expected);
  });

  it('is YYMMDDhhmm of the UTC minute (property)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }), (date) => {
        const text = dlrDateOf(date);
        expect(text).toMatch(/^\d{10}$/);
        const [yy, mo, dd, hh, mi] = [0, 2, 4, 6, 8].map((i) => Number(text.slice(i, i + 2)));
        const back = Date.UTC(2000 + yy!, mo! - 1, dd, hh, mi);
        const minute = Math.floor(date.getTime() / 60_000) * 60_000;
        expect(back).toBe(minute);
      }),
    );
  });
});
