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

  it('refuses a nonsense configuration', () => {
    expect(() => new SendPacer(0, 1000)).toThrow(RangeError);
    expect(() => new SendPacer(1.5, 1000)).toThrow(RangeError);
    expect(() => new SendPacer(3, 0)).toThrow(RangeError);
  });
});
