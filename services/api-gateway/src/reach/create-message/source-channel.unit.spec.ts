import { AccountDirectory, type AccountSource, type ProvisionedNumber, type RegisteredSender } from '@reach/accounts';
import { sourceChannel } from './source-channel';

const accountId = '6f1c3a52-8b2e-4c4f-9a53-0e7c2d1b9f10';
const otherAccount = '0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d';
const connectorId = 'c0ffee00-0000-4000-8000-000000000001';

const numbers: ProvisionedNumber[] = [
  { e164: '+14155552671', accountId, channel: 'device', deviceId: 'd0000000-0000-4000-8000-000000000001', simSlot: 0, connectorId: null },
  { e164: '+14155552672', accountId, channel: 'smpp', deviceId: null, simSlot: null, connectorId },
  { e164: '+14155552673', accountId: otherAccount, channel: 'simulated', deviceId: null, simSlot: null, connectorId: null },
];
const senders: RegisteredSender[] = [
  { accountId, sender: 'Acme', connectorId: null },
  { accountId, sender: 'AcmeBank', connectorId },
  { accountId: otherAccount, sender: 'Other', connectorId },
];

const source: AccountSource = {
  authenticateBearer: async () => null,
  authenticateApiUser: async () => null,
  findNumber: async (e164) => numbers.find((n) => n.e164 === e164) ?? null,
  findSender: async (account, sender) => senders.find((s) => s.accountId === account && s.sender === sender) ?? null,
};
// Through the gateway's cached directory, as the controller uses it.
const directory = new AccountDirectory(source);

describe('sourceChannel', () => {
  it("sends from a number on the number's own channel", async () => {
    expect(await sourceChannel(directory, accountId, { src: '+14155552671', srcKind: 'number' })).toBe('device');
    expect(await sourceChannel(directory, accountId, { src: '+14155552672', srcKind: 'number' })).toBe('smpp');
  });

  it('sends a sender id routed to a connector over SMPP, any other on the default channel', async () => {
    expect(await sourceChannel(directory, accountId, { src: 'AcmeBank', srcKind: 'alphanumeric' })).toBe('smpp');
    expect(await sourceChannel(directory, accountId, { src: 'Acme', srcKind: 'alphanumeric' })).toBe('simulated');
  });

  it("knows nothing of another account's numbers and sender ids, or of unknown ones", async () => {
    expect(await sourceChannel(directory, accountId, { src: '+14155552673', srcKind: 'number' })).toBeNull();
    expect(await sourceChannel(directory, accountId, { src: 'Other', srcKind: 'alphanumeric' })).toBeNull();
    expect(await sourceChannel(directory, accountId, { src: '+14155550000', srcKind: 'number' })).toBeNull();
    expect(await sourceChannel(directory, accountId, { src: 'ACME', srcKind: 'alphanumeric' })).toBeNull();
  });
});
