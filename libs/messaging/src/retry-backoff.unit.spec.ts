import { defaultRedeliveryBackoffMs, redeliveryDelayMs, restartDelayMs } from './retry-backoff';

describe('redeliveryDelayMs', () => {
  const schedule = [100, 500, 2_000];

  it('takes the delay for the delivery that failed', () => {
    expect(redeliveryDelayMs(1, schedule)).toBe(100);
    expect(redeliveryDelayMs(2, schedule)).toBe(500);
    expect(redeliveryDelayMs(3, schedule)).toBe(2_000);
  });

  it('keeps the last delay once the schedule runs out', () => {
    expect(redeliveryDelayMs(4, schedule)).toBe(2_000);
    expect(redeliveryDelayMs(1_000, schedule)).toBe(2_000);
  });

  it('treats counts below one as the first delivery', () => {
    expect(redeliveryDelayMs(0, schedule)).toBe(100);
    expect(redeliveryDelayMs(-3, schedule)).toBe(100);
  });

  it('redelivers at once with an empty schedule', () => {
    expect(redeliveryDelayMs(2, [])).toBe(0);
  });

  it('has a default schedule that never shrinks', () => {
    const sorted = [...defaultRedeliveryBackoffMs].sort((a, b) => a - b);
    expect(defaultRedeliveryBackoffMs).toEqual(sorted);
  });
});

describe('restartDelayMs', () => {
  it('doubles from the base delay', () => {
    expect([1, 2, 3, 4].map((failures) => restartDelayMs(failures, 100, 10_000))).toEqual([100, 200, 400, 800]);
  });

  it('is capped', () => {
    expect(restartDelayMs(20, 250, 30_000)).toBe(30_000);
    expect(restartDelayMs(10_000)).toBe(30_000);
  });
});
