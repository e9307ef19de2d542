import { z } from 'zod';
import { RelayedEvent } from '@reach/messaging';
import { Envelope } from './envelope';

describe('the example envelope', () => {
  it('describes the same JSON as the relay envelope (RelayedEvent in @reach/messaging)', () => {
    expect(z.toJSONSchema(Envelope, { io: 'input' })).toEqual(z.toJSONSchema(RelayedEvent, { io: 'input' }));
  });
});
