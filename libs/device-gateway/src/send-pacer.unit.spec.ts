import fc from 'fast-check';
import { SendPacer } from './send-pacer';

describe('SendPacer', () => {
  it('allows the limit in a window, then says how long to wait', () => {
    const pacer = new SendPacer(3, 1000);
    expect([pacer.take(0), pacer.take(10), pacer.take(20)]).toEqual([0, 0, 0]);
    expect(pacer.take(30)).toBe(970);
    expect(pacer.take(999)).toBe(1);
    expect(pacer.take(1000)).toBe(0);
    expect(pacer.take(1000)).toBe(10);
  });

  it('tells the wait without taking a slot', () => {
    const pacer = new SendPacer(2, 1000);
    expect(pacer.wait(0)).toBe(0);
    expect(pacer.wait(0)).toBe(0);
    pacer.take(0);
    pacer.take(100);
    expect(pacer.wait(500)).toBe(500);
    expect(pacer.wait(500)).toBe(500);
    expect(pacer.wait(1000)).toBe(0);
    expect(pacer.take(1000)).toBe(0);
    expect(pacer.wait(1000)).toBe(100);
  });

  it('never lets more than the limit through in any window', () => {
    const pacer = new SendPacer(30, 60_000);
    const sent: number[] = [];
    for (let now = 0; now < 300_000; now += 250) if (pacer.take(now) === 0) sent.push(now);
    for (const start of sent) expect(sent.filter((t) => t >= start && t < start + 60_000).length).toBeLessThanOrEqual(30);
    expect(sent.length).toBe(150);
  });

  it('keeps the sends already in the window when the limit changes', () => {
    const pacer = new SendPacer(3, 1000);
    expect([pacer.take(0), pacer.take(100), pacer.take(200)]).toEqual([0, 0, 0]);
    pacer.limit = 5;
    expect([pacer.take(300), pacer.take(400)]).toEqual([0, 0]);
    expect(pacer.wait(500)).toBe(500); // five in the window: the first leaves at 1000
    pacer.limit = 2;
    // Five sends in the window, two allowed: four must leave it, the fourth (at 300) at 1300.
    expect(pacer.wait(500)).toBe(800);
    expect(pacer.take(1299)).toBe(1);
    expect(pacer.take(1300)).toBe(0);
    expect(pacer.take(1300)).toBe(100); // 400 and 1300 in the window now
    expect(pacer.take(1400)).toBe(0);
    expect(() => (pacer.limit = 0)).toThrow(RangeError);
    expect(pacer.limit).toBe(2);
  });

  it('never lets a send through that puts more than the limit of the moment in the window, whatever the changes', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('take' as const), advanceMs: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ kind: fc.constant('limit' as const), limit: fc.integer({ min: 1, max: 6 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(step, { maxLength: 200 }), (initial, steps) => {
        const pacer = new SendPacer(initial, 1000);
        const taken: number[] = [];
        let now = 0;
        for (const s of steps) {
          if (s.kind === 'limit') {
            pacer.limit = s.limit;
            continue;
          }
          now += s.advanceMs;
          const wait = pacer.take(now);
          const inWindow = taken.filter((t) => t > now - 1000).length;
          if (wait === 0) {
            taken.push(now);
            expect(inWindow + 1).toBeLessThanOrEqual(pacer.limit);
          } else {
            // Refused only when full, and the wait is exactly until enough sends left the window.
            expect(inWindow).toBeGreaterThanOrEqual(pacer.limit);
            expect(taken.filter((t) => t > now + wait - 1000).length).toBe(pacer.limit - 1);
          }
        }
      }),
    );
  });

  it('refuses a nonsense configuration', () => {
    expect(() => new SendPacer(0, 1000)).toThrow(RangeError);
    expect(() => new SendPacer(1.5, 1000)).toThrow(RangeError);
    expect(() => new SendPacer(3, 0)).toThrow(RangeError);
  });
});
