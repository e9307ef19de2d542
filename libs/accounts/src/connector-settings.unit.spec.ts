import { AccountsError } from './accounts.errors';
import { validateNewConnector, type NewConnector } from './connector-settings';

const base: NewConnector = { accountId: null, name: 'Carrier A', host: 'smsc.example.net', port: 2775, systemId: 'reach', password: 'secret12' };

function refusal(input: Partial<NewConnector>): AccountsError {
  try {
    validateNewConnector({ ...base, ...input });
  } catch (error) {
    if (error instanceof AccountsError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('validateNewConnector', () => {
  it('fills in the defaults: transceiver, TON/NPI 1/1, 100 per second, window 100, no system type', () => {
    expect(validateNewConnector({ ...base, name: '  Carrier A ' })).toEqual({
      accountId: null,
      name: 'Carrier A',
      host: 'smsc.example.net',
      port: 2775,
      systemId: 'reach',
      password: 'secret12',
      systemType: '',
      bindMode: 'transceiver',
      source: { ton: 1, npi: 1 },
      destination: { ton: 1, npi: 1 },
      throughputPerSecond: 100,
      windowSize: 100,
    });
  });

  it('keeps every setting given within the limits', () => {
    const settings = validateNewConnector({
      ...base,
      accountId: '6f1c3a52-8b2e-4c4f-9a53-0e7c2d1b9f10',
      host: '10.0.0.7',
      port: 65_535,
      systemId: 'x'.repeat(15),
      password: '',
      systemType: 'y'.repeat(12),
      bindMode: 'transceiver',
      sourceTon: 5,
      sourceNpi: 0,
      destTon: 0,
      destNpi: 18,
      throughputPerSecond: 1,
      windowSize: 10_000,
    });
    expect(settings).toMatchObject({ port: 65_535, source: { ton: 5, npi: 0 }, destination: { ton: 0, npi: 18 }, throughputPerSecond: 1, windowSize: 10_000 });
  });

  it.each<[string, Partial<NewConnector>, RegExp]>([
    ['a blank name', { name: '   ' }, /connector name/],
    ['a name too long', { name: 'n'.repeat(101) }, /connector name is 1 to 100/],
    ['an empty host', { host: '' }, /host must be/],
    ['a host with a space', { host: 'smsc example' }, /without spaces/],
    ['port 0', { port: 0 }, /port must be a whole number from 1 to 65535; got 0/],
    ['port 65536', { port: 65_536 }, /port/],
    ['a fractional port', { port: 2775.5 }, /port/],
    ['an empty system id', { systemId: '' }, /system id is 1 to 15/],
    ['a system id of 16 characters', { systemId: 's'.repeat(16) }, /system id is 1 to 15 characters in SMPP 3.4; got 16/],
    ['a non-ASCII system id', { systemId: 'réach' }, /system id must be printable ASCII/],
    ['a password of 9 characters', { password: 'p'.repeat(9) }, /bind passwords are at most 8 characters .* got 9/],
    ['a non-ASCII password', { password: 'pässword' }, /password must be printable ASCII/],
    ['a system type of 13 characters', { systemType: 't'.repeat(13) }, /system type is at most 12/],
    ['source TON 7', { sourceTon: 7 }, /source TON must be a whole number from 0 to 6; got 7/],
    ['destination TON -1', { destTon: -1 }, /destination TON/],
    ['source NPI 19', { sourceNpi: 19 }, /source NPI must be a whole number from 0 to 18/],
    ['destination NPI 1.5', { destNpi: 1.5 }, /destination NPI/],
    ['throughput 0', { throughputPerSecond: 0 }, /throughput per second must be a whole number from 1/],
    ['window 0', { windowSize: 0 }, /window size must be a whole number from 1 to 10000/],
    ['window 10001', { windowSize: 10_001 }, /window size/],
  ])('refuses %s as INVALID_CONNECTOR', (_, input, message) => {
    const error = refusal(input);
    expect(error.code).toBe('INVALID_CONNECTOR');
    expect(error.message).toMatch(message);
  });

  it('never repeats the password in a refusal', () => {
    expect(refusal({ password: 'TooLongSecret' }).message).not.toContain('TooLongSecret');
  });

  it.each(['receiver', 'transmitter', 'TRANSCEIVER', ''])('refuses bind mode %j: only transceiver is supported', (bindMode) => {
    const error = refusal({ bindMode });
    expect(error.code).toBe('UNSUPPORTED_BIND_MODE');
    expect(error.message).toBe(`only transceiver binds are supported; got bind mode ${JSON.stringify(bindMode)}`);
  });
});
