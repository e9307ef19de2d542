import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { AccountsError } from './accounts.errors';
import { createAccount } from './accounts.repository';
import { addConnector, routeNumberToConnector } from './connectors.repository';
import { bindDeviceNumber, createDevice, findDeviceByToken, findRevokedDevices, listDevices, loadDeviceBindings, revokeDevice } from './devices.repository';
import { addNumber, findNumber, releaseNumber } from './numbers.repository';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const terms = { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 };
const issuing = { apiKeySecret: randomBytes(32) };
const now = new Date('2026-11-22T12:00:00.000Z');
const newAccount = async (name: string) => (await createAccount(database.db, { name, ...terms }, issuing)).accountId;
const unknownId = '00000000-0000-4000-8000-000000000000';

async function expectAccountsError(promise: Promise<unknown>, code: AccountsError['code'], message?: RegExp): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(AccountsError);
  await expect(promise).rejects.toMatchObject({ code });
  if (message) await expect(promise).rejects.toThrow(message);
}

describe('createDevice', () => {
  it('stores the device with only the SHA-256 of its token, and returns the token once', async () => {
    const accountId = await newAccount('Devices');

    const { device, token } = await createDevice(database.db, { accountId, name: ' Shop phone ', sendsPerMinute: 20, now });

    expect(device).toEqual({ id: expect.any(String), accountId, name: 'Shop phone', sendsPerMinute: 20, createdAt: now });
    expect(token).toMatch(/^dt_[0-9A-Za-z]{40}$/);
    const row = await database.db.selectFrom('devices').selectAll().where('id', '=', device.id).executeTakeFirstOrThrow();
    expect(row.token_hash.toString('hex')).toBe(createHash('sha256').update(token, 'utf8').digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token.slice(3));
  });

  it('defaults to no name and 30 sends per minute', async () => {
    const accountId = await newAccount('Defaults');
    const { device } = await createDevice(database.db, { accountId });
    expect(device).toMatchObject({ name: '', sendsPerMinute: 30 });
  });

  it('refuses an unknown account, bad pacing and long names, and writes nothing', async () => {
    const accountId = await newAccount('Refusals');
    await expectAccountsError(createDevice(database.db, { accountId: unknownId }), 'ACCOUNT_NOT_FOUND');
    await expectAccountsError(createDevice(database.db, { accountId: 'not-a-uuid' }), 'ACCOUNT_NOT_FOUND');
    for (const sendsPerMinute of [0, 10_001, 1.5]) {
      await expectAccountsError(createDevice(database.db, { accountId, sendsPerMinute }), 'INVALID_DEVICE', /sends per minute must be a whole number from 1 to 10000/);
    }
    await expectAccountsError(createDevice(database.db, { accountId, name: 'n'.repeat(101) }), 'INVALID_DEVICE', /at most 100 characters/);
    expect(await listDevices(database.db, accountId)).toEqual([]);
  });
});

describe('findDeviceByToken', () => {
  it('finds the live device holding the token, with its numbers', async () => {
    const accountId = await newAccount('Tokens');
    await addNumber(database.db, { accountId, e164: '+14155552601' });
    await addNumber(database.db, { accountId, e164: '+14155552602' });
    const { device, token } = await createDevice(database.db, { accountId, sendsPerMinute: 12 });
    await bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552602', simSlot: 1 });
    await bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552601' });

    expect(await findDeviceByToken(database.db, token)).toEqual({
      deviceId: device.id,
      accountId,
      sendsPerMinute: 12,
      numbers: [
        { e164: '+14155552601', simSlot: 0 },
        { e164: '+14155552602', simSlot: 1 },
      ],
    });
  });

  it('finds nothing for a wrong or malformed token, nor for a revoked device', async () => {
    const accountId = await newAccount('Wrong tokens');
    const { device, token } = await createDevice(database.db, { accountId });
    const other = await createDevice(database.db, { accountId });

    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    expect(await findDeviceByToken(database.db, flipped)).toBeNull();
    for (const malformed of ['', token.slice(0, -1), `${token} `, `${token}A`, token.replace('dt_', 'DT_')]) {
      expect(await findDeviceByToken(database.db, malformed)).toBeNull();
    }

    const revoked = await revokeDevice(database.db, { deviceId: device.id, now });
    expect(revoked.revokedAt).toEqual(now);
    expect(await findDeviceByToken(database.db, token)).toBeNull();
    expect((await findDeviceByToken(database.db, other.token))?.deviceId).toBe(other.device.id);
    // What the device channel asks about its connected devices: only the revoked one, and no error for ids that are not devices.
    expect(await findRevokedDevices(database.db, [device.id, other.device.id, randomUUID(), 'dev-not-a-uuid'])).toEqual([device.id]);
    expect(await findRevokedDevices(database.db, [])).toEqual([]);
  });

  it('refuses a malformed token without a query', async () => {
    const spy = jest.spyOn(database.db, 'selectFrom');
    try {
      expect(await findDeviceByToken(database.db, 'dt_short')).toBeNull();
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('bindDeviceNumber', () => {
  it("binds a number of the device's account: channel device, slot 0 by default, no connector", async () => {
    const accountId = await newAccount('Binding');
    await addNumber(database.db, { accountId, e164: '+14155552611' });
    const { device } = await createDevice(database.db, { accountId });

    const bound = await bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552611' });

    expect(bound).toEqual({ e164: '+14155552611', accountId, deviceId: device.id, simSlot: 0, previousDeviceId: null });
    expect(await findNumber(database.db, '+14155552611')).toEqual({
      e164: '+14155552611',
      accountId,
      channel: 'device',
      deviceId: device.id,
      simSlot: 0,
      connectorId: null,
    });
    // Again, unchanged: reports the device as its own previous holder.
    expect(await bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552611' })).toEqual({ ...bound, previousDeviceId: device.id });
  });

  it('moves a number bound to another device, and takes it off its connector', async () => {
    const accountId = await newAccount('Moving');
    await addNumber(database.db, { accountId, e164: '+14155552612' });
    const first = await createDevice(database.db, { accountId });
    const second = await createDevice(database.db, { accountId });
    const connector = await addConnector(database.db, issuing.apiKeySecret, { accountId, name: 'Moving', host: 'smsc', port: 2775, systemId: 'r', password: 'p' });
    await routeNumberToConnector(database.db, { connectorId: connector.id, e164: '+14155552612' });

    await bindDeviceNumber(database.db, { deviceId: first.device.id, e164: '+14155552612', simSlot: 1 });
    const moved = await bindDeviceNumber(database.db, { deviceId: second.device.id, e164: '+14155552612' });

    expect(moved).toMatchObject({ deviceId: second.device.id, simSlot: 0, previousDeviceId: first.device.id });
    expect(await findNumber(database.db, '+14155552612')).toMatchObject({ channel: 'device', deviceId: second.device.id, simSlot: 0, connectorId: null });
    expect((await findDeviceByToken(database.db, first.token))?.numbers).toEqual([]);
    expect((await findDeviceByToken(database.db, second.token))?.numbers).toEqual([{ e164: '+14155552612', simSlot: 0 }]);
  });

  it('keeps one number per SIM slot of a device', async () => {
    const accountId = await newAccount('Slots');
    await addNumber(database.db, { accountId, e164: '+14155552613' });
    await addNumber(database.db, { accountId, e164: '+14155552614' });
    const { device } = await createDevice(database.db, { accountId });
    await bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552613', simSlot: 1 });

    await expectAccountsError(
      bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552614', simSlot: 1 }),
      'SIM_SLOT_TAKEN',
      /SIM slot 1 of device .* already holds \+14155552613/,
    );
    expect((await findNumber(database.db, '+14155552614'))?.deviceId).toBeNull();
    // The number itself may change slots.
    await bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552613', simSlot: 0 });
    await bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552614', simSlot: 1 });
  });

  it("settles concurrent binds of two numbers to one slot on one of them", async () => {
    const accountId = await newAccount('Racing slots');
    await addNumber(database.db, { accountId, e164: '+14155552615' });
    await addNumber(database.db, { accountId, e164: '+14155552616' });
    const { device } = await createDevice(database.db, { accountId });

    const results = await Promise.allSettled(
      ['+14155552615', '+14155552616'].map((e164) => bindDeviceNumber(database.db, { deviceId: device.id, e164, simSlot: 2 })),
    );

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((result) => result.status === 'rejected')).toMatchObject({ reason: { code: 'SIM_SLOT_TAKEN' } });
  });

  it("refuses a number of another account, or not provisioned, and writes nothing", async () => {
    const accountId = await newAccount('Mine');
    const otherAccount = await newAccount('Theirs');
    await addNumber(database.db, { accountId: otherAccount, e164: '+14155552617' });
    const { device } = await createDevice(database.db, { accountId });

    await expectAccountsError(
      bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552617' }),
      'NUMBER_NOT_PROVISIONED',
      new RegExp(`\\+14155552617 is not provisioned to account ${accountId}, which device ${device.id} belongs to`),
    );
    await expectAccountsError(bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552699' }), 'NUMBER_NOT_PROVISIONED');
    expect(await findNumber(database.db, '+14155552617')).toMatchObject({ accountId: otherAccount, channel: 'simulated', deviceId: null });
  });

  it('refuses unknown and revoked devices, bad slots and bad numbers', async () => {
    const accountId = await newAccount('Bad binds');
    await addNumber(database.db, { accountId, e164: '+14155552618' });
    const { device } = await createDevice(database.db, { accountId });

    await expectAccountsError(bindDeviceNumber(database.db, { deviceId: unknownId, e164: '+14155552618' }), 'DEVICE_NOT_FOUND');
    await expectAccountsError(bindDeviceNumber(database.db, { deviceId: 'not-a-uuid', e164: '+14155552618' }), 'DEVICE_NOT_FOUND');
    for (const simSlot of [-1, 8, 1.5]) {
      await expectAccountsError(bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552618', simSlot }), 'INVALID_SIM_SLOT');
    }
    await expectAccountsError(bindDeviceNumber(database.db, { deviceId: device.id, e164: '14155552618' }), 'INVALID_NUMBER');
    await revokeDevice(database.db, { deviceId: device.id });
    await expectAccountsError(bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552618' }), 'DEVICE_REVOKED');
    expect((await findNumber(database.db, '+14155552618'))?.deviceId).toBeNull();
  });
});

describe('listDevices and loadDeviceBindings', () => {
  it("lists the account's devices, revoked ones too, with their numbers", async () => {
    const accountId = await newAccount('Listing');
    const otherAccount = await newAccount('Not listed');
    await addNumber(database.db, { accountId, e164: '+14155552621' });
    const first = await createDevice(database.db, { accountId, name: 'A', now });
    const second = await createDevice(database.db, { accountId, name: 'B', now: new Date(now.getTime() + 1000) });
    await createDevice(database.db, { accountId: otherAccount });
    await bindDeviceNumber(database.db, { deviceId: first.device.id, e164: '+14155552621', simSlot: 1 });
    await revokeDevice(database.db, { deviceId: second.device.id, now });

    expect(await listDevices(database.db, accountId)).toEqual([
      { ...first.device, revokedAt: null, numbers: [{ e164: '+14155552621', simSlot: 1 }] },
      { ...second.device, revokedAt: now, numbers: [] },
    ]);
    expect(await listDevices(database.db, unknownId)).toEqual([]);
    expect(await listDevices(database.db, 'not-a-uuid')).toEqual([]);
  });

  it('loads every number bound to a live device, and nothing of revoked devices or released numbers', async () => {
    const accountId = await newAccount('Routing table');
    for (const e164 of ['+14155552631', '+14155552632', '+14155552633']) await addNumber(database.db, { accountId, e164 });
    const live = await createDevice(database.db, { accountId, sendsPerMinute: 25 });
    const revoked = await createDevice(database.db, { accountId });
    await bindDeviceNumber(database.db, { deviceId: live.device.id, e164: '+14155552631' });
    await bindDeviceNumber(database.db, { deviceId: live.device.id, e164: '+14155552632', simSlot: 1 });
    await bindDeviceNumber(database.db, { deviceId: revoked.device.id, e164: '+14155552633' });
    await revokeDevice(database.db, { deviceId: revoked.device.id });
    await releaseNumber(database.db, { accountId, e164: '+14155552632' });

    const bindings = (await loadDeviceBindings(database.db)).filter((binding) => binding.accountId === accountId);

    expect(bindings).toEqual([{ e164: '+14155552631', accountId, deviceId: live.device.id, simSlot: 0, sendsPerMinute: 25 }]);
  });
});

describe('revokeDevice', () => {
  it('is idempotent, keeping the first revocation time, and refuses unknown devices', async () => {
    const accountId = await newAccount('Revoking');
    const { device } = await createDevice(database.db, { accountId });

    expect((await revokeDevice(database.db, { deviceId: device.id, now })).revokedAt).toEqual(now);
    expect((await revokeDevice(database.db, { deviceId: device.id, now: new Date(now.getTime() + 5000) })).revokedAt).toEqual(now);
    await expectAccountsError(revokeDevice(database.db, { deviceId: unknownId }), 'DEVICE_NOT_FOUND');
    await expectAccountsError(revokeDevice(database.db, { deviceId: 'nope' }), 'DEVICE_NOT_FOUND');
  });
});
