import { parseCommand } from './command-bus';

describe('parseCommand', () => {
  const command = {
    commandId: '5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
    from: '+14155552671',
    to: '+447700900123',
    body: 'hello',
    issuedAt: '2026-11-22T10:00:00.000Z',
  };

  it('parses a simulate-inbound payload', () => {
    expect(parseCommand('simulate-inbound', command)).toEqual(command);
  });

  it('rejects a payload that breaks the schema', () => {
    expect(() => parseCommand('simulate-inbound', { ...command, from: '4155552671' })).toThrow();
  });
});
