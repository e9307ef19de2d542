import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { AccountDirectory } from './account-cache';
import { AccountsError } from './accounts.errors';
import { createAccount } from './accounts.repository';
import { openConnectorPassword } from './connector-password';
import type { NewConnector } from './connector-settings';
import { addConnector, listConnectors, loadConnectorRoutes, loadConnectors, routeNumberToConnector, routeSenderToConnector } from './connectors.repository';
import { bindDeviceNumber, createDevice } from './devices.repository';
import { addNumber, findNumber } from './numbers.repository';
import { addSender, findSender } from './senders.repository';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const terms = { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 };
const secret = randomBytes(32);
const issuing = { apiKeySecret: secret };
const now = new Date('2026-11-22T12:00:00.000Z');
const newAccount = async (name: string) => (await createAccount(database.db, { name, ...terms }, issuing)).accountId;
const unknownId = '00000000-0000-4000-8000-000000000000';
let names = 0;
const connectorInput = (accountId: string | null, input: Partial<NewConnector> = {}): NewConnector => ({
  accountId,
  name: `Carrier ${(names += 1)}`,
  host: 'smsc.example.net',
  port: 2775,
  systemId: 'reach',
  password: 'secret12',
  ...input,
});

async function expectAccountsError(promise: Promise<unknown>, code: AccountsError['code'], message?: RegExp): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(AccountsError);
  await expect(promise).rejects.toMatchObject({ code });
  if (message) await expect(promise).rejects.toThrow(message);
}

describe('addConnector', () => {
  it('stores the settings and the password sealed under the platform secret, never in clear', async () => {
    const accountId = await newAccount('Connectors');

    const added = await addConnector(database.db, secret, {
      ...connectorInput(accountId, { name: 'Carrier A', password: 'pa55w0rd' }),
      systemType: 'OTA',
      sourceTon: 5,
      sourceNpi: 0,
      destNpi: 1,
      throughputPerSecond: 50,
      windowSize: 10,
      now,
    });

    expect(added).toEqual({
      id: expect.any(String),
      accountId,
      name: 'Carrier A',
      host: 'smsc.example.net',
      port: 2775,
      systemId: 'reach',
      systemType: 'OTA',
      bindMode: 'transceiver',
      source: { ton: 5, npi: 0 },
      destination: { ton: 1, npi: 1 },
      throughputPerSecond: 50,
      windowSize: 10,
      createdAt: now,
      disabledAt: null,
    });
    expect(added).not.toHaveProperty('password');
    const row = await database.db.selectFrom('smpp_connectors').selectAll().where('id', '=', added.id).executeTakeFirstOrThrow();
    expect(row.password_sealed.includes(Buffer.from('pa55w0rd'))).toBe(false);
    expect(openConnectorPassword(secret, row.password_sealed)).toBe('pa55w0rd');
  });

  it('adds platform-wide connectors, and keeps names unique per scope, case-insensitively', async () => {
    const first = await newAccount('Names 1');
    const second = await newAccount('Names 2');
    const name = `Shared ${randomBytes(4).toString('hex')}`;

    const platform = await addConnector(database.db, secret, connectorInput(null, { name }));
    expect(platform.accountId).toBeNull();
    await addConnector(database.db, secret, connectorInput(first, { name }));
    await addConnector(database.db, secret, connectorInput(second, { name: name.toUpperCase() }));

    await expectAccountsError(
      addConnector(database.db, secret, connectorInput(null, { name: name.toLowerCase() })),
      'CONNECTOR_NAME_TAKEN',
      /already exists among platform-wide connectors/,
    );
    await expectAccountsError(
      addConnector(database.db, secret, connectorInput(first, { name: ` ${name} ` })),
      'CONNECTOR_NAME_TAKEN',
      new RegExp(`already exists on account ${first}`),
    );
  });

  it('refuses invalid settings, transmitter or receiver binds, and unknown accounts, and writes nothing', async () => {
    const accountId = await newAccount('Invalid connectors');
    await expectAccountsError(addConnector(database.db, secret, connectorInput(accountId, { password: 'ninechars' })), 'INVALID_CONNECTOR', /at most 8 characters/);
    await expectAccountsError(addConnector(database.db, secret, connectorInput(accountId, { systemId: 's'.repeat(16) })), 'INVALID_CONNECTOR');
    await expectAccountsError(addConnector(database.db, secret, connectorInput(accountId, { port: 0 })), 'INVALID_CONNECTOR');
    await expectAccountsError(
      addConnector(database.db, secret, connectorInput(accountId, { bindMode: 'receiver' })),
      'UNSUPPORTED_BIND_MODE',
      /only transceiver binds are supported/,
    );
    await expectAccountsError(addConnector(database.db, secret, connectorInput(unknownId)), 'ACCOUNT_NOT_FOUND');
    await expectAccountsError(addConnector(database.db, secret, connectorInput('not-a-uuid')), 'ACCOUNT_NOT_FOUND');
    expect((await listConnectors(database.db, { accountId })).filter((c) => c.accountId === accountId)).toEqual([]);
  });
});

describe('listConnectors', () => {
  it("shows an account its own connectors and the platform-wide ones, never another account's, and no passwords", async () => {
    const mine = await newAccount('Listing mine');
    const theirs = await newAccount('Listing theirs');
    const own = await addConnector(database.db, secret, connectorInput(mine, { name: 'zeta' }));
    const alsoOwn = await addConnector(database.db, secret, connectorInput(mine, { name: 'Alpha' }));
    const other = await addConnector(database.db, secret, connectorInput(theirs));
    const platform = await addConnector(database.db, secret, connectorInput(null));

    const listed = await listConnectors(database.db, { accountId: mine });
    const ids = listed.map((c) => c.id);
    expect(ids).toContain(platform.id);
    expect(ids).not.toContain(other.id);
    // Platform-wide first, then the account's by name.
    expect(ids.slice(-2)).toEqual([alsoOwn.id, own.id]);
    expect(listed.every((c) => c.accountId === null || c.accountId === mine)).toBe(true);
    expect(JSON.stringify(listed)).not.toContain('secret12');

    const all = (await listConnectors(database.db)).map((c) => c.id);
    expect(all).toEqual(expect.arrayContaining([own.id, other.id, platform.id]));
    expect(await listConnectors(database.db, { accountId: 'not-a-uuid' })).toEqual([]);
  });
});

describe('routing to connectors', () => {
  it("routes the account's sender id to its own or a platform-wide connector, and the directory shows it", async () => {
    const accountId = await newAccount('Sender routes');
    await addSender(database.db, { accountId, sender: 'AcmeBank' });
    await addSender(database.db, { accountId, sender: 'Other' });
    const own = await addConnector(database.db, secret, connectorInput(accountId));
    const platform = await addConnector(database.db, secret, connectorInput(null));

    expect(await routeSenderToConnector(database.db, { connectorId: own.id, accountId, sender: 'AcmeBank' })).toEqual({
      accountId,
      sender: 'AcmeBank',
      connectorId: own.id,
    });
    await routeSenderToConnector(database.db, { connectorId: platform.id, accountId, sender: 'Other' });

    expect(await findSender(database.db, accountId, 'AcmeBank')).toEqual({ accountId, sender: 'AcmeBank', connectorId: own.id });
    expect(await AccountDirectory.fromDatabase(database.db).findSender(accountId, 'Other')).toEqual({ accountId, sender: 'Other', connectorId: platform.id });
    // Routing again moves the route.
    await routeSenderToConnector(database.db, { connectorId: platform.id, accountId, sender: 'AcmeBank' });
    expect((await findSender(database.db, accountId, 'AcmeBank'))?.connectorId).toBe(platform.id);
  });

  it("refuses another account's connector for a sender id or a number (tenant rule)", async () => {
    const a = await newAccount('Tenant A');
    const b = await newAccount('Tenant B');
    await addSender(database.db, { accountId: a, sender: 'TenantA' });
    await addNumber(database.db, { accountId: a, e164: '+14155552701' });
    const bConnector = await addConnector(database.db, secret, connectorInput(b));

    await expectAccountsError(
      routeSenderToConnector(database.db, { connectorId: bConnector.id, accountId: a, sender: 'TenantA' }),
      'CONNECTOR_ACCOUNT_MISMATCH',
      /belongs to another account/,
    );
    await expectAccountsError(routeNumberToConnector(database.db, { connectorId: bConnector.id, e164: '+14155552701' }), 'CONNECTOR_ACCOUNT_MISMATCH');
    expect((await findSender(database.db, a, 'TenantA'))?.connectorId).toBeNull();
    expect(await findNumber(database.db, '+14155552701')).toMatchObject({ channel: 'simulated', connectorId: null });
  });

  it('refuses unregistered sender ids (case-sensitively), unknown accounts, unknown and disabled connectors', async () => {
    const accountId = await newAccount('Route refusals');
    await addSender(database.db, { accountId, sender: 'Acme' });
    const connector = await addConnector(database.db, secret, connectorInput(accountId));
    const disabled = await addConnector(database.db, secret, connectorInput(accountId));
    await database.db.updateTable('smpp_connectors').set({ disabled_at: now }).where('id', '=', disabled.id).execute();

    await expectAccountsError(routeSenderToConnector(database.db, { connectorId: connector.id, accountId, sender: 'ACME' }), 'SENDER_NOT_REGISTERED', /not registered/);
    await expectAccountsError(routeSenderToConnector(database.db, { connectorId: connector.id, accountId: unknownId, sender: 'Acme' }), 'ACCOUNT_NOT_FOUND');
    await expectAccountsError(routeSenderToConnector(database.db, { connectorId: unknownId, accountId, sender: 'Acme' }), 'CONNECTOR_NOT_FOUND');
    await expectAccountsError(routeSenderToConnector(database.db, { connectorId: 'nope', accountId, sender: 'Acme' }), 'CONNECTOR_NOT_FOUND');
    await expectAccountsError(routeSenderToConnector(database.db, { connectorId: disabled.id, accountId, sender: 'Acme' }), 'CONNECTOR_DISABLED');
    expect((await findSender(database.db, accountId, 'Acme'))?.connectorId).toBeNull();
  });

  it('routes a number: channel smpp, off any device', async () => {
    const accountId = await newAccount('Number routes');
    await addNumber(database.db, { accountId, e164: '+14155552702' });
    const { device } = await createDevice(database.db, { accountId });
    await bindDeviceNumber(database.db, { deviceId: device.id, e164: '+14155552702', simSlot: 1 });
    const platform = await addConnector(database.db, secret, connectorInput(null));

    const routed = await routeNumberToConnector(database.db, { connectorId: platform.id, e164: '+14155552702' });

    const expected = { e164: '+14155552702', accountId, channel: 'smpp', deviceId: null, simSlot: null, connectorId: platform.id };
    expect(routed).toEqual(expected);
    expect(await findNumber(database.db, '+14155552702')).toEqual(expected);
  });

  it('refuses numbers that are not provisioned or not E.164', async () => {
    const connector = await addConnector(database.db, secret, connectorInput(null));
    await expectAccountsError(routeNumberToConnector(database.db, { connectorId: connector.id, e164: '+14155552799' }), 'NUMBER_NOT_PROVISIONED');
    await expectAccountsError(routeNumberToConnector(database.db, { connectorId: connector.id, e164: '4155552799' }), 'INVALID_NUMBER');
  });
});

describe('loading connectors and routes', () => {
  it('loads every enabled connector with its password opened', async () => {
    const accountId = await newAccount('Loading');
    const loaded = await addConnector(database.db, secret, { ...connectorInput(accountId, { password: 'open1234', systemType: 'VMA' }), sourceTon: 5 });
    const disabled = await addConnector(database.db, secret, connectorInput(accountId));
    await database.db.updateTable('smpp_connectors').set({ disabled_at: now }).where('id', '=', disabled.id).execute();

    const connectors = await loadConnectors(database.db, secret);

    expect(connectors.find((c) => c.id === disabled.id)).toBeUndefined();
    expect(connectors.find((c) => c.id === loaded.id)).toEqual({
      id: loaded.id,
      accountId,
      name: loaded.name,
      host: 'smsc.example.net',
      port: 2775,
      systemId: 'reach',
      password: 'open1234',
      systemType: 'VMA',
      bindMode: 'transceiver',
      source: { ton: 5, npi: 1 },
      destination: { ton: 1, npi: 1 },
      throughputPerSecond: 100,
      windowSize: 100,
    });
  });

  it('names the connector whose password the platform secret cannot open', async () => {
    const other = await createTestDatabase();
    try {
      const accountId = (await createAccount(other.db, { name: 'Other secret', ...terms }, issuing)).accountId;
      const connector = await addConnector(other.db, randomBytes(32), connectorInput(accountId, { name: 'Sealed elsewhere' }));
      await expectAccountsError(
        loadConnectors(other.db, secret),
        'CONNECTOR_PASSWORD_UNREADABLE',
        new RegExp(`connector ${connector.id} \\("Sealed elsewhere"\\): .*another platform secret`),
      );
    } finally {
      await other.drop();
    }
  });

  it('loads routed numbers and sender ids, and nothing unrouted', async () => {
    const accountId = await newAccount('Routes');
    await addNumber(database.db, { accountId, e164: '+14155552711' });
    await addNumber(database.db, { accountId, e164: '+14155552712' });
    await addSender(database.db, { accountId, sender: 'Routed' });
    await addSender(database.db, { accountId, sender: 'Unrouted' });
    const connector = await addConnector(database.db, secret, connectorInput(accountId));
    await routeNumberToConnector(database.db, { connectorId: connector.id, e164: '+14155552711' });
    await routeSenderToConnector(database.db, { connectorId: connector.id, accountId, sender: 'Routed' });

    const routes = (await loadConnectorRoutes(database.db)).filter((route) => route.accountId === accountId);

    expect(routes).toEqual([
      { accountId, sender: '+14155552711', connectorId: connector.id },
      { accountId, sender: 'Routed', connectorId: connector.id },
    ]);
  });
});
