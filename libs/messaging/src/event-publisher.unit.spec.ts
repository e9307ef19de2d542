import { RelayedEvent } from './event-publisher';

describe('RelayedEvent', () => {
  const valid = {
    eventId: '0b9c3f6e-5a1d-4e5b-9f0a-2c3d4e5f6a7b',
    type: 'MessageAccepted',
    streamId: 'message-0b9c3f6e-5a1d-4e5b-9f0a-2c3d4e5f6a7b',
    revision: '18446744073709551615',
    position: '1234/1234',
    data: { anything: ['goes'] },
    metadata: { correlationId: 'x' },
    createdAt: '2026-11-22T10:00:00.000Z',
  };

  it('accepts a relayed event with 64-bit revision and position as strings', () => {
    expect(RelayedEvent.parse(valid)).toEqual(valid);
  });

  it.each([
    ['a non-uuid event id', { eventId: 'e-1' }],
    ['a numeric revision', { revision: 3 }],
    ['a negative revision', { revision: '-1' }],
    ['a position without prepare part', { position: '1234' }],
    ['a date without time', { createdAt: '2026-11-22' }],
    ['an empty type', { type: '' }],
  ])('rejects %s', (_label, change) => {
    expect(RelayedEvent.safeParse({ ...valid, ...change }).success).toBe(false);
  });
});
