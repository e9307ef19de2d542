import { AccountDirectory, type AccountSource } from './account-cache';
import type { Account } from './accounts.repository';
import type { ProvisionedNumber } from './numbers.repository';
import type { RegisteredSender } from './senders.repository';

const account: Account = {
  id: '6f1c3a52-8b2e-4c4f-9a53-0e7c2d1b9f10',
  name: 'Acme',
  apiUser: 'AID0123456789ABCDEF01234567',
  status: 'active',
  billing: { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 },
  createdAt: new Date('2026-11-22T00:00:00Z'),
};
const number: ProvisionedNumber = { e164: '+14155552671', accountId: account.id, channel: 'simulated', deviceId: null, simSlot: null, connectorId: null };
const sender: RegisteredSender = { accountId: account.id, sender: 'Acme', connectorId: null };
const GOOD_KEY = `ak_${'A'.repeat(40)}`;

/** A source whose answers and call log the test controls. */
function fakeSource() {
  const calls: string[] = [];
  const state = {
    keys: new Map([[GOOD_KEY, account]]),
    numbers: new Map([[number.e164, number]]),
    senders: [sender],
    failing: false,
  };
  const source: AccountSource = {
    async authenticateBearer(key) {
      calls.push(`bearer:${key}`);
      if (state.failing) throw new Error('database down');
      return state.keys.get(key) ?? null;
    },
    async authenticateApiUser(apiUser, key) {
      calls.push(`user:${apiUser}:${key}`);
      const found = state.keys.get(key);
      return found && found.apiUser === apiUser ? found : null;
    },
    async findNumber(e164) {
      calls.push(`number:${e164}`);
      return state.numbers.get(e164) ?? null;
    },
    async findSender(accountId, name) {
      calls.push(`sender:${accountId}:${name}`);
      return state.senders.find((found) => found.accountId === accountId && found.sender === name) ?? null;
    },
  };
  return { source, calls, state };
}

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('AccountDirectory', () => {
  it('serves a found account from cache until the positive TTL (30 s by default) runs out', async () => {
    const { source, calls } = fakeSource();
    const time = clock();
    const directory = new AccountDirectory(source, { now: time.now });

    expect(await directory.authenticateBearer(GOOD_KEY)).toBe(account);
    time.advance(29_999);
    expect(await directory.authenticateBearer(GOOD_KEY)).toBe(account);
    expect(calls).toHaveLength(1);

    time.advance(1);
    expect(await directory.authenticateBearer(GOOD_KEY)).toBe(account);
    expect(calls).toHaveLength(2);
  });

  it('remembers a miss for the negative TTL (5 s by default), then asks again', async () => {
    const { source, calls, state } = fakeSource();
    const time = clock();
    const directory = new AccountDirectory(source, { now: time.now });
    const newKey = `ak_${'B'.repeat(40)}`;

    expect(await directory.authenticateBearer(newKey)).toBeNull();
    state.keys.set(newKey, account);
    time.advance(4_999);
    expect(await directory.authenticateBearer(newKey)).toBeNull();
    expect(calls).toHaveLength(1);

    time.advance(1);
    expect(await directory.authenticateBearer(newKey)).toBe(account);
    expect(calls).toHaveLength(2);
  });

  it('takes its TTLs from the constructor', async () => {
    const { source, calls } = fakeSource();
    const time = clock();
    const directory = new AccountDirectory(source, { now: time.now, positiveTtlMs: 100, negativeTtlMs: 10 });

    await directory.findNumber(number.e164);
    await directory.findNumber('+14155550100');
    time.advance(10);
    await directory.findNumber(number.e164);
    await directory.findNumber('+14155550100');
    expect(calls).toEqual(['number:+14155552671', 'number:+14155550100', 'number:+14155550100']);
    time.advance(90);
    await directory.findNumber(number.e164);
    expect(calls).toHaveLength(4);
  });

  it('caches ApiUser + key pairs separately per pair', async () => {
    const { source, calls } = fakeSource();
    const directory = new AccountDirectory(source, { now: clock().now });

    expect(await directory.authenticateApiUser(account.apiUser, GOOD_KEY)).toBe(account);
    expect(await directory.authenticateApiUser(account.apiUser, GOOD_KEY)).toBe(account);
    expect(await directory.authenticateApiUser(account.apiUser, `ak_${'C'.repeat(40)}`)).toBeNull();
    expect(await directory.authenticateApiUser('AIDFFFFFFFFFFFFFFFFFFFFFFFF', GOOD_KEY)).toBeNull();
    expect(calls).toHaveLength(3);
  });

  it('keys its entries by the key digest, never the plaintext', async () => {
    const { source } = fakeSource();
    const directory = new AccountDirectory(source, { now: clock().now });
    await directory.authenticateBearer(GOOD_KEY);
    await directory.authenticateApiUser(account.apiUser, GOOD_KEY);

    const internals = JSON.stringify(directory, (_key, value: unknown) =>
      value instanceof Map ? [...value.keys()] : value,
    );
    expect(internals).not.toContain(GOOD_KEY);
    expect(directory.size).toEqual({ bearer: 1, apiUsers: 1, numbers: 0, senders: 0 });
  });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const { source, calls } = fakeSource();
    const directory = new AccountDirectory(source, { now: clock().now, maxEntries: 2 });

    await directory.findNumber('+14155550101');
    await directory.findNumber('+14155550102');
    await directory.findNumber('+14155550101'); // hit: now the most recently used
    await directory.findNumber('+14155550103'); // evicts ...102
    expect(directory.size.numbers).toBe(2);

    calls.length = 0;
    await directory.findNumber('+14155550101');
    await directory.findNumber('+14155550103');
    expect(calls).toEqual([]);
    await directory.findNumber('+14155550102');
    expect(calls).toEqual(['number:+14155550102']);
  });

  it('does not cache failures, and shares one lookup between concurrent misses', async () => {
    const { source, calls, state } = fakeSource();
    const directory = new AccountDirectory(source, { now: clock().now });

    state.failing = true;
    await expect(directory.authenticateBearer(GOOD_KEY)).rejects.toThrow('database down');
    state.failing = false;

    const [first, second] = await Promise.all([directory.authenticateBearer(GOOD_KEY), directory.authenticateBearer(GOOD_KEY)]);
    expect(first).toBe(account);
    expect(second).toBe(account);
    expect(calls).toHaveLength(2);
  });

  it('caches sender ids per account and spelling, with the same TTLs', async () => {
    const { source, calls, state } = fakeSource();
    const time = clock();
    const directory = new AccountDirectory(source, { now: time.now });
    const otherAccount = '0b9e8f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b';

    expect(await directory.findSender(account.id, 'Acme')).toBe(sender);
    expect(await directory.findSender(account.id, 'ACME')).toBeNull();
    expect(await directory.findSender(otherAccount, 'Acme')).toBeNull();
    expect(await directory.findSender(account.id, 'Acme')).toBe(sender);
    expect(calls).toEqual([`sender:${account.id}:Acme`, `sender:${account.id}:ACME`, `sender:${otherAccount}:Acme`]);
    expect(directory.size.senders).toBe(3);

    // A sender registered after a miss is seen once the negative TTL runs out.
    const registered: RegisteredSender = { accountId: otherAccount, sender: 'Acme', connectorId: null };
    state.senders.push(registered);
    time.advance(4_999);
    expect(await directory.findSender(otherAccount, 'Acme')).toBeNull();
    time.advance(1);
    expect(await directory.findSender(otherAccount, 'Acme')).toBe(registered);

    time.advance(24_999); // 29.999 s after the first lookup
    expect(await directory.findSender(account.id, 'Acme')).toBe(sender);
    expect(calls).toHaveLength(4);
    time.advance(1);
    expect(await directory.findSender(account.id, 'Acme')).toBe(sender);
    expect(calls).toHaveLength(5);
  });

  it('keeps sender cache keys unambiguous', async () => {
    const { source, calls } = fakeSource();
    const directory = new AccountDirectory(source, { now: clock().now });
    await directory.findSender('a', 'bc');
    await directory.findSender('ab', 'c');
    expect(calls).toEqual(['sender:a:bc', 'sender:ab:c']);
  });

  it('forgets everything on clear()', async () => {
    const { source, calls } = fakeSource();
    const directory = new AccountDirectory(source, { now: clock().now });
    await directory.authenticateBearer(GOOD_KEY);
    directory.clear();
    await directory.authenticateBearer(GOOD_KEY);
    expect(calls).toHaveLength(2);
  });
});
