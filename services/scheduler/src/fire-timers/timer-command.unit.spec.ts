import { WrongExpectedRevisionError } from '@reach/event-store';
import { MessageRuleViolation } from '@reach/message-domain';
import type { DueTimer } from '../timers/timer';
import { commandForTimer, isPermanentFailure, retryAt } from './timer-command';

const timer: DueTimer = {
  messageId: '6f1c1e52-4a43-4f55-9a55-0e4a8b1f7a01',
  accountId: '0b8f2d9e-0a53-4b2f-8c52-6a3f0f6e2c11',
  kind: 'release',
  dueAt: new Date('2026-06-08T13:30:00.000Z'),
  attempts: 0,
};
const firedAt = new Date('2026-06-08T13:30:00.042Z');

describe('commandForTimer', () => {
  it('releases a scheduled message, stamped with the firing instant', () => {
    expect(commandForTimer(timer, firedAt)).toEqual({
      type: 'ReleaseMessage',
      data: { messageId: timer.messageId, accountId: timer.accountId, now: '2026-06-08T13:30:00.042Z' },
    });
  });

  it('expires a message whose validity ended', () => {
    expect(commandForTimer({ ...timer, kind: 'expire' }, firedAt).type).toBe('ExpireMessage');
  });
});

describe('isPermanentFailure', () => {
  it.each(['MESSAGE_NOT_FOUND', 'INVALID_TRANSITION', 'MESSAGE_EXISTS', 'TOO_LATE_TO_CANCEL'] as const)('drops %s: no retry can change it', (code) => {
    expect(isPermanentFailure(new MessageRuleViolation(code, 'x'))).toBe(true);
  });

  it('retries a deadline the message says is not reached yet', () => {
    expect(isPermanentFailure(new MessageRuleViolation('NOT_EXPIRED_YET', 'x'))).toBe(false);
  });

  it('retries infrastructure failures and lost races', () => {
    expect(isPermanentFailure(new Error('connection reset'))).toBe(false);
    expect(isPermanentFailure(new WrongExpectedRevisionError('message-x', 1n, 2n))).toBe(false);
  });
});

describe('retryAt', () => {
  it('backs off from 250 ms, doubling, up to 30 s', () => {
    const delays = [0, 1, 2, 3, 10, 50].map((attempts) => retryAt({ ...timer, attempts }, firedAt).dueAt.getTime() - firedAt.getTime());
    expect(delays).toEqual([250, 500, 1000, 2000, 30_000, 30_000]);
  });

  it('counts the attempt', () => {
    expect(retryAt({ ...timer, attempts: 2 }, firedAt).attempts).toBe(3);
  });
});
