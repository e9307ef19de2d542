import { randomBytes } from 'node:crypto';
import { findDeviceByToken, findNumber } from '@reach/accounts';
import { natsNames } from '@reach/contracts';
import { connectNats, deleteTopology, drainNats, ensureTopology, PhonePresenceStore } from '@reach/messaging';
import { createTestDatabase, testNamespace, testUrls, type TestDatabase } from '@reach/testing';
import type { NatsConnection } from 'nats';
import pino from 'pino';
import { createAccountCommand } from './account.command';
import { CliError } from './cli-errors';
import { createDeviceCommand, setPhonePresence, type CreateDeviceResult } from './device.command';
import { main } from './main';
import { addNumberCommand } from './number.command';

const issuing = { apiKeySecret: randomBytes(32) };
const apiKeySecret = { kind: 'value' as const, secret: issuing.apiKeySecret };

const namespace = testNamespace();
const names = natsNames(namespace);
const now = new Date('2026-11-22T12:00:00.000Z');
let database: TestDatabase;
let nc: NatsConnection;
let presence: PhonePresenceStore;

beforeAll(async () => {
  database = await createTestDatabase();
  nc = await connectNats({ url: testUrls.nats, name: 'reachctl-device-test', logger: pino({ level: 'silent' }) });
  await ensureTopology(nc, names);
  presence = await PhonePresenceStore.open(nc.jetstream(), names);
  const { accountId } = await createAccountCommand(database.db, { name: 'Phones', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);
  await addNumberCommand(database.db, { accountId, number: '+14155552671', channel: 'simulated' }, now);
});

afterAll(async () => {
  if (nc) {
    await deleteTopology(nc, names);
    await drainNats(nc);
  }
  await database?.drop();
});

function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const readConfig = () => ({ databaseUrl: database.url, natsUrl: testUrls.nats, namespace, apiKeySecret });
  const exit = main(['node', 'reachctl', ...args], { io: { out: (line) => out.push(line), err: (line) => err.push(line) }, readConfig });
  return exit.then((code) => ({ code, out, err }));
}

describe('reachctl device offline / online', () => {
  it('records the presence of a provisioned number', async () => {
    expect(await setPhonePresence({ db: database.db, presence, now }, { number: '+14155552671', online: false })).toEqual({
      number: '+14155552671',
      online: false,
      changedAt: now.toISOString(),
    });
    expect(await presence.get('+14155552671')).toEqual({ online: false, changedAt: now.toISOString() });
  });

  it('refuses a number that is not provisioned and writes nothing', async () => {
    await expect(setPhonePresence({ db: database.db, presence, now }, { number: '+14155550100', online: false })).rejects.toThrow(CliError);
    await expect(setPhonePresence({ db: database.db, presence, now }, { number: '+14155550100', online: false })).rejects.toThrow(
      '+14155550100 is not provisioned: add it with `reachctl number add --account ID --number +14155550100`',
    );
    expect(await presence.get('+14155550100')).toBeNull();
  });

  it('switches the phone from the command line', async () => {
    const offline = await run('device', 'offline', '--number', '+14155552671', '--json');
    expect({ code: offline.code, err: offline.err }).toEqual({ code: 0, err: [] });
    expect(JSON.parse(offline.out[0]!)).toMatchObject({ number: '+14155552671', online: false });
    expect((await presence.get('+14155552671'))?.online).toBe(false);

    const online = await run('device', 'online', '--number', '+14155552671');
    expect(online).toEqual({ code: 0, out: ["+14155552671's phone is now online"], err: [] });
    expect((await presence.get('+14155552671'))?.online).toBe(true);

    const unknown = await run('device', 'offline', '--number', '+14155550100');
    expect(unknown).toMatchObject({ code: 1, out: [] });
    expect(unknown.err).toEqual([expect.stringMatching(/^reachctl: \+14155550100 is not provisioned/)]);
  });

  it('explains an unreachable NATS', async () => {
    const err: string[] = [];
    const code = await main(['node', 'reachctl', 'device', 'online', '--number', '+14155552671'], {
      io: { out: () => undefined, err: (line) => err.push(line) },
      readConfig: () => ({ databaseUrl: database.url, natsUrl: 'nats://127.0.0.1:1', namespace, apiKeySecret }),
    });
    expect(code).toBe(1);
    expect(err).toEqual([expect.stringMatching(/^reachctl: NATS is not reachable at nats:\/\/127\.0\.0\.1:1 .*NATS_URL/)]);
  });
});

describe('reachctl device create / bind / list', () => {
  it('creates a device and prints its token once, with a warning in the sentence', async () => {
    const { accountId } = await createAccountCommand(database.db, { name: 'Fleet', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);

    const json = await run('device', 'create', '--account', accountId, '--name', 'Shop', '--sends-per-minute', '20', '--json');
    expect({ code: json.code, err: json.err }).toEqual({ code: 0, err: [] });
    const printed = JSON.parse(json.out[0]!) as CreateDeviceResult;
    expect(Object.keys(printed)).toEqual(['deviceId', 'accountId', 'name', 'sendsPerMinute', 'token']);
    expect(printed).toMatchObject({ accountId, name: 'Shop', sendsPerMinute: 20 });
    expect(await findDeviceByToken(database.db, printed.token)).toEqual({ deviceId: printed.deviceId, accountId, sendsPerMinute: 20, numbers: [] });

    const human = await run('device', 'create', '--account', accountId);
    expect(human.code).toBe(0);
    expect(human.out).toEqual([
      expect.stringMatching(new RegExp(`^created device [0-9a-f-]{36} for account ${accountId}, 30 sends per minute; device token, shown only now: dt_[0-9A-Za-z]{40}$`)),
    ]);
  });

  it('refuses an unknown account and bad pacing with exit code 1', async () => {
    const unknown = await run('device', 'create', '--account', '00000000-0000-4000-8000-000000000000');
    expect(unknown).toEqual({ code: 1, out: [], err: ['reachctl: no account 00000000-0000-4000-8000-000000000000 [ACCOUNT_NOT_FOUND]'] });
    const { accountId } = await createAccountCommand(database.db, { name: 'Pacing', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);
    const fast = await run('device', 'create', '--account', accountId, '--sends-per-minute', '0');
    expect(fast).toEqual({ code: 1, out: [], err: ['reachctl: sends per minute must be a whole number from 1 to 10000; got 0 [INVALID_DEVICE]'] });
    const notNumber = await run('device', 'create', '--account', accountId, '--sends-per-minute', 'fast');
    expect(notNumber.code).toBe(1);
    expect(notNumber.err.join('\n')).toMatch(/--sends-per-minute <n>' argument 'fast' is invalid\. expected a whole number/);
  });

  it('binds a number to a device and marks it offline until the device connects', async () => {
    const { accountId } = await createAccountCommand(database.db, { name: 'Binder', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);
    await addNumberCommand(database.db, { accountId, number: '+14155552681', channel: 'simulated' }, now);
    const first = await createDeviceCommand(database.db, { accountId }, now);
    const second = await createDeviceCommand(database.db, { accountId }, now);
    expect(await presence.get('+14155552681')).toBeNull();

    const bound = await run('device', 'bind', '--device', first.deviceId, '--number', '+14155552681', '--sim', '1', '--json');
    expect({ code: bound.code, err: bound.err }).toEqual({ code: 0, err: [] });
    expect(JSON.parse(bound.out[0]!)).toEqual({
      number: '+14155552681',
      deviceId: first.deviceId,
      accountId,
      simSlot: 1,
      previousDeviceId: null,
      markedOffline: true,
    });
    expect((await presence.get('+14155552681'))?.online).toBe(false);
    expect(await findNumber(database.db, '+14155552681')).toMatchObject({ channel: 'device', deviceId: first.deviceId, simSlot: 1 });

    // The device connected (the device channel marks it online); rebinding in place leaves that alone.
    await presence.set('+14155552681', true, now);
    const again = await run('device', 'bind', '--device', first.deviceId, '--number', '+14155552681', '--sim', '1');
    expect(again).toEqual({ code: 0, out: [`+14155552681 is bound to device ${first.deviceId}, SIM slot 1`], err: [] });
    expect((await presence.get('+14155552681'))?.online).toBe(true);

    const moved = await run('device', 'bind', '--device', second.deviceId, '--number', '+14155552681');
    expect(moved).toEqual({
      code: 0,
      out: [`+14155552681 is bound to device ${second.deviceId}, SIM slot 0 (moved from device ${first.deviceId}); it counts as offline until the device connects`],
      err: [],
    });
    expect((await presence.get('+14155552681'))?.online).toBe(false);
  });

  it("refuses a number of another account, an unknown device and a bad slot, and touches no presence", async () => {
    const mine = await createAccountCommand(database.db, { name: 'Mine', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);
    const theirs = await createAccountCommand(database.db, { name: 'Theirs', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);
    await addNumberCommand(database.db, { accountId: theirs.accountId, number: '+14155552682', channel: 'simulated' }, now);
    const device = await createDeviceCommand(database.db, { accountId: mine.accountId }, now);

    const foreign = await run('device', 'bind', '--device', device.deviceId, '--number', '+14155552682');
    expect(foreign).toMatchObject({ code: 1, out: [] });
    expect(foreign.err).toEqual([expect.stringMatching(/^reachctl: \+14155552682 is not provisioned to account .* \[NUMBER_NOT_PROVISIONED\]$/)]);
    const unknown = await run('device', 'bind', '--device', '00000000-0000-4000-8000-000000000000', '--number', '+14155552682');
    expect(unknown.err).toEqual(['reachctl: no device 00000000-0000-4000-8000-000000000000 [DEVICE_NOT_FOUND]']);
    const slot = await run('device', 'bind', '--device', device.deviceId, '--number', '+14155552682', '--sim', '8');
    expect(slot.err).toEqual(['reachctl: a SIM slot is a whole number from 0 to 7; got 8 [INVALID_SIM_SLOT]']);
    expect(await presence.get('+14155552682')).toBeNull();
  });

  it('changes the pace of a device, and refuses a bad pace or a revoked device', async () => {
    const { accountId } = await createAccountCommand(database.db, { name: 'Pacer', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);
    const device = await createDeviceCommand(database.db, { accountId }, now);
    const json = await run('device', 'pace', '--device', device.deviceId, '--sends-per-minute', '12', '--json');
    expect(json).toEqual({ code: 0, out: [JSON.stringify({ deviceId: device.deviceId, accountId, sendsPerMinute: 12 })], err: [] });
    expect((await findDeviceByToken(database.db, device.token))?.sendsPerMinute).toBe(12);

    const zero = await run('device', 'pace', '--device', device.deviceId, '--sends-per-minute', '0');
    expect(zero).toEqual({ code: 1, out: [], err: ['reachctl: sends per minute must be a whole number from 1 to 10000; got 0 [INVALID_DEVICE]'] });
    await run('device', 'revoke', '--device', device.deviceId);
    const revokedPace = await run('device', 'pace', '--device', device.deviceId, '--sends-per-minute', '5');
    expect(revokedPace).toEqual({ code: 1, out: [], err: [`reachctl: device ${device.deviceId} is revoked: create a new device [DEVICE_REVOKED]`] });
    const unknown = await run('device', 'pace', '--device', '00000000-0000-4000-8000-000000000000', '--sends-per-minute', '5');
    expect(unknown.err).toEqual(['reachctl: no device 00000000-0000-4000-8000-000000000000 [DEVICE_NOT_FOUND]']);
  });

  it('revokes a device: its token stops working, its numbers stay bound, and revoking again keeps the first time', async () => {
    const { accountId } = await createAccountCommand(database.db, { name: 'Revoker', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);
    await addNumberCommand(database.db, { accountId, number: '+14155552684', channel: 'simulated' }, now);
    const device = await createDeviceCommand(database.db, { accountId }, now);
    await run('device', 'bind', '--device', device.deviceId, '--number', '+14155552684');
    expect(await findDeviceByToken(database.db, device.token)).not.toBeNull();

    const json = await run('device', 'revoke', '--device', device.deviceId, '--json');
    expect({ code: json.code, err: json.err }).toEqual({ code: 0, err: [] });
    const revoked = JSON.parse(json.out[0]!) as { revokedAt: string };
    expect(revoked).toEqual({ deviceId: device.deviceId, accountId, revokedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), numbers: ['+14155552684'] });
    expect(await findDeviceByToken(database.db, device.token)).toBeNull();

    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = await run('device', 'revoke', '--device', device.deviceId);
    expect(again.out).toEqual([
      `device ${device.deviceId} is revoked (since ${revoked.revokedAt}): its token no longer works and a connected phone is disconnected within the dispatcher's refresh interval; ` +
        '+14155552684 stays bound to it and its messages wait: bind it to another device with `reachctl device bind`',
    ]);
    expect((await run('device', 'list', '--account', accountId, '--json')).out[0]).toContain(`"revokedAt":"${revoked.revokedAt}"`);

    const unknown = await run('device', 'revoke', '--device', '00000000-0000-4000-8000-000000000000');
    expect(unknown).toEqual({ code: 1, out: [], err: ['reachctl: no device 00000000-0000-4000-8000-000000000000 [DEVICE_NOT_FOUND]'] });
  });

  it("lists an account's devices and their numbers, never their tokens", async () => {
    const { accountId } = await createAccountCommand(database.db, { name: 'Lister', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);
    expect(await run('device', 'list', '--account', accountId)).toEqual({
      code: 0,
      out: [`account ${accountId} has no devices (add one with \`reachctl device create --account ${accountId}\`)`],
      err: [],
    });
    await addNumberCommand(database.db, { accountId, number: '+14155552683', channel: 'simulated' }, now);
    const device = await createDeviceCommand(database.db, { accountId, name: 'Till', sendsPerMinute: 12 }, now);
    await run('device', 'bind', '--device', device.deviceId, '--number', '+14155552683');

    const json = await run('device', 'list', '--account', accountId, '--json');
    expect(JSON.parse(json.out[0]!)).toEqual({
      accountId,
      devices: [
        { deviceId: device.deviceId, name: 'Till', sendsPerMinute: 12, createdAt: now.toISOString(), revokedAt: null, numbers: [{ number: '+14155552683', simSlot: 0 }] },
      ],
    });
    expect(json.out[0]).not.toContain(device.token);
    expect((await run('device', 'list', '--account', accountId)).out).toEqual([`${device.deviceId} "Till": 12 sends/min, +14155552683 (SIM 0)`]);

    const unknown = await run('device', 'list', '--account', '00000000-0000-4000-8000-000000000000');
    expect(unknown).toMatchObject({ code: 1, err: ['reachctl: no account 00000000-0000-4000-8000-000000000000 [ACCOUNT_NOT_FOUND]'] });
  });
});
