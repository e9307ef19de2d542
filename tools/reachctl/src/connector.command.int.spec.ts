import { randomBytes } from 'node:crypto';
import { findNumber, findSender, listConnectors, loadConnectors } from '@reach/accounts';
import { natsNames } from '@reach/contracts';
import { connectNats, deleteTopology, drainNats, ensureTopology, PhonePresenceStore } from '@reach/messaging';
import { createTestDatabase, testNamespace, testUrls, type TestDatabase } from '@reach/testing';
import type { NatsConnection } from 'nats';
import pino from 'pino';
import { createAccountCommand } from './account.command';
import { addConnectorCommand, type ConnectorResult } from './connector.command';
import { createDeviceCommand } from './device.command';
import { main } from './main';
import { addNumberCommand } from './number.command';
import { addSenderCommand } from './sender.command';

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
  nc = await connectNats({ url: testUrls.nats, name: 'reachctl-connector-test', logger: pino({ level: 'silent' }) });
  await ensureTopology(nc, names);
  presence = await PhonePresenceStore.open(nc.jetstream(), names);
});

afterAll(async () => {
  if (nc) {
    await deleteTopology(nc, names);
    await drainNats(nc);
  }
  await database?.drop();
});

const newAccount = async (name: string) =>
  (await createAccountCommand(database.db, { name, allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing)).accountId;

function run(...args: string[]) {
  return runWithStdin(null, ...args);
}

function runWithStdin(stdin: string | null, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const readConfig = () => ({ databaseUrl: database.url, natsUrl: testUrls.nats, namespace, apiKeySecret });
  const io = { out: (line: string) => out.push(line), err: (line: string) => err.push(line), ...(stdin === null ? {} : { readStdin: async () => stdin }) };
  const exit = main(['node', 'reachctl', ...args], { io, readConfig });
  return exit.then((code) => ({ code, out, err }));
}

const required = ['--host', 'smsc.example.net', '--port', '2775', '--system-id', 'reach', '--password', 'secret12'];

describe('reachctl connector add', () => {
  it('adds an account connector and prints it without the password; the dispatcher can open it', async () => {
    const accountId = await newAccount('Connectors');

    const { code, out, err } = await run(
      'connector', 'add', '--name', 'Carrier A', ...required, '--account', accountId,
      '--system-type', 'OTA', '--source-ton', '5', '--source-npi', '0', '--dest-ton', '1', '--dest-npi', '1', '--throughput', '50', '--window', '10', '--json',
    );

    expect({ code, err }).toEqual({ code: 0, err: [] });
    const printed = JSON.parse(out[0]!) as ConnectorResult;
    expect(printed).toEqual({
      connectorId: expect.any(String),
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
      createdAt: expect.any(String),
      disabledAt: null,
    });
    expect(out[0]).not.toContain('secret12');
    const loaded = (await loadConnectors(database.db, issuing.apiKeySecret)).find((c) => c.id === printed.connectorId);
    expect(loaded?.password).toBe('secret12');
  });

  it('adds a platform-wide connector with the defaults, and says so', async () => {
    const { code, out, err } = await run('connector', 'add', '--name', 'Everyone', ...required, '--platform');
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out).toEqual([
      expect.stringMatching(/^added connector [0-9a-f-]{36}: "Everyone" \(platform-wide\): smsc\.example\.net:2775 as "reach", transceiver, 100\/s, window 100$/),
    ]);
  });

  it('reads the password from stdin with --password-stdin, and needs exactly one way of giving it', async () => {
    const accountId = await newAccount('Stdin password');
    const host = ['--host', 'smsc.example.net', '--port', '2775', '--system-id', 'reach'];
    const added = await runWithStdin('fromPipe\n', 'connector', 'add', '--name', 'Piped', ...host, '--account', accountId, '--password-stdin', '--json');
    expect({ code: added.code, err: added.err }).toEqual({ code: 0, err: [] });
    const { connectorId } = JSON.parse(added.out[0]!) as ConnectorResult;
    expect((await loadConnectors(database.db, issuing.apiKeySecret)).find((c) => c.id === connectorId)?.password).toBe('fromPipe');

    const neither = await run('connector', 'add', '--name', 'No password', ...host, '--account', accountId);
    expect(neither).toEqual({ code: 1, out: [], err: ['reachctl: give exactly one of --password PASSWORD or --password-stdin (the password on stdin, kept out of shell history)'] });
    const both = await runWithStdin('x\n', 'connector', 'add', '--name', 'Both', ...host, '--account', accountId, '--password', 'y', '--password-stdin');
    expect(both.code).toBe(1);
    const lines = await runWithStdin('one\ntwo\n', 'connector', 'add', '--name', 'Lines', ...host, '--account', accountId, '--password-stdin');
    expect(lines).toEqual({ code: 1, out: [], err: ['reachctl: --password-stdin: expected one line on stdin, got several'] });
    expect((await listConnectors(database.db, { accountId })).filter((c) => c.accountId === accountId).map((c) => c.name)).toEqual(['Piped']);
  });

  it('needs exactly one of --account and --platform', async () => {
    const accountId = await newAccount('Scope');
    const message = ['reachctl: give exactly one of --account ID (a connector of that account) or --platform (a connector every account may route to)'];
    expect(await run('connector', 'add', '--name', 'Neither', ...required)).toEqual({ code: 1, out: [], err: message });
    expect(await run('connector', 'add', '--name', 'Both', ...required, '--platform', '--account', accountId)).toEqual({ code: 1, out: [], err: message });
  });

  it('refuses other bind modes, long passwords and duplicate names with one-line messages', async () => {
    const accountId = await newAccount('Refusals');
    const receiver = await run('connector', 'add', '--name', 'R', ...required, '--account', accountId, '--bind-mode', 'receiver');
    expect(receiver).toEqual({ code: 1, out: [], err: ['reachctl: only transceiver binds are supported; got bind mode "receiver" [UNSUPPORTED_BIND_MODE]'] });

    const long = await run('connector', 'add', '--name', 'L', '--host', 'h', '--port', '2775', '--system-id', 's', '--password', 'muchtoolong', '--account', accountId);
    expect(long.code).toBe(1);
    expect(long.err).toEqual([expect.stringMatching(/^reachctl: SMPP 3\.4 bind passwords are at most 8 characters .*got 11.* \[INVALID_CONNECTOR\]$/)]);
    expect(long.err[0]).not.toContain('muchtoolong');

    const badPort = await run('connector', 'add', '--name', 'P', ...required.slice(0, 2), '--port', '99999', ...required.slice(4), '--account', accountId);
    expect(badPort.err).toEqual(['reachctl: port must be a whole number from 1 to 65535; got 99999 [INVALID_CONNECTOR]']);

    await run('connector', 'add', '--name', 'Twice', ...required, '--account', accountId);
    const twice = await run('connector', 'add', '--name', 'TWICE', ...required, '--account', accountId);
    expect(twice.code).toBe(1);
    expect(twice.err).toEqual([expect.stringMatching(/already exists on account .* \[CONNECTOR_NAME_TAKEN\]$/)]);

    const unknown = await run('connector', 'add', '--name', 'U', ...required, '--account', '00000000-0000-4000-8000-000000000000');
    expect(unknown.err).toEqual(['reachctl: no account 00000000-0000-4000-8000-000000000000 [ACCOUNT_NOT_FOUND]']);
  });
});

describe('reachctl connector list', () => {
  it("lists the account's own and the platform-wide connectors", async () => {
    const mine = await newAccount('List mine');
    const theirs = await newAccount('List theirs');
    const own = await addConnectorCommand(database.db, issuing.apiKeySecret, { accountId: mine, name: 'Own', host: 'h', port: 1, systemId: 's', password: 'p' }, now);
    const other = await addConnectorCommand(database.db, issuing.apiKeySecret, { accountId: theirs, name: 'Other', host: 'h', port: 1, systemId: 's', password: 'p' }, now);

    const json = await run('connector', 'list', '--account', mine, '--json');
    expect(json.code).toBe(0);
    const { connectors } = JSON.parse(json.out[0]!) as { connectors: ConnectorResult[] };
    expect(connectors.map((c) => c.connectorId)).toContain(own.connectorId);
    expect(connectors.map((c) => c.connectorId)).not.toContain(other.connectorId);
    expect(connectors.every((c) => c.accountId === null || c.accountId === mine)).toBe(true);

    const all = await run('connector', 'list');
    expect(all.out.join('\n')).toContain(`${other.connectorId} "Other" (account ${theirs}): h:1 as "s", transceiver, 100/s, window 100`);

    const unknown = await run('connector', 'list', '--account', '00000000-0000-4000-8000-000000000000');
    expect(unknown).toMatchObject({ code: 1, err: ['reachctl: no account 00000000-0000-4000-8000-000000000000 [ACCOUNT_NOT_FOUND]'] });
  });
});

describe('reachctl connector disable / enable', () => {
  it('takes a connector out of what the dispatcher binds and back, refusing new routes while disabled', async () => {
    const accountId = await newAccount('Disable');
    await addSenderCommand(database.db, { accountId, sender: 'Outage' }, now);
    const connector = await addConnectorCommand(database.db, issuing.apiKeySecret, { accountId, name: 'Flaky', host: 'h', port: 1, systemId: 's', password: 'p' }, now);
    const bound = async () => (await loadConnectors(database.db, issuing.apiKeySecret)).map((c) => c.id);
    expect(await bound()).toContain(connector.connectorId);

    const disabled = await run('connector', 'disable', '--connector', connector.connectorId, '--json');
    expect({ code: disabled.code, err: disabled.err }).toEqual({ code: 0, err: [] });
    const first = JSON.parse(disabled.out[0]!) as ConnectorResult;
    expect(first).toMatchObject({ connectorId: connector.connectorId, disabledAt: expect.stringMatching(/^\d{4}-/) });
    expect(await bound()).not.toContain(connector.connectorId);
    const route = await run('connector', 'route', '--connector', connector.connectorId, '--sender', 'Outage', '--account', accountId);
    expect(route).toEqual({ code: 1, out: [], err: [`reachctl: connector ${connector.connectorId} ("Flaky") is disabled [CONNECTOR_DISABLED]`] });

    // Disabling again keeps the first time.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = await run('connector', 'disable', '--connector', connector.connectorId);
    expect(again.out).toEqual([`connector ${connector.connectorId} "Flaky" (account ${accountId}): h:1 as "s", transceiver, 100/s, window 100 is disabled (since ${first.disabledAt})`]);

    const enabled = await run('connector', 'enable', '--connector', connector.connectorId, '--json');
    expect(JSON.parse(enabled.out[0]!)).toMatchObject({ connectorId: connector.connectorId, disabledAt: null });
    expect(await bound()).toContain(connector.connectorId);
    expect((await run('connector', 'route', '--connector', connector.connectorId, '--sender', 'Outage', '--account', accountId)).code).toBe(0);

    const unknown = await run('connector', 'disable', '--connector', '00000000-0000-4000-8000-000000000000');
    expect(unknown).toEqual({ code: 1, out: [], err: ['reachctl: no connector 00000000-0000-4000-8000-000000000000 [CONNECTOR_NOT_FOUND]'] });
  });
});

describe('reachctl connector route', () => {
  it('routes a sender id of the account to a connector', async () => {
    const accountId = await newAccount('Route sender');
    await addSenderCommand(database.db, { accountId, sender: 'AcmeBank' }, now);
    const connector = await addConnectorCommand(database.db, issuing.apiKeySecret, { accountId: null, name: 'Route sender', host: 'h', port: 1, systemId: 's', password: 'p' }, now);

    const json = await run('connector', 'route', '--connector', connector.connectorId, '--sender', 'AcmeBank', '--account', accountId, '--json');
    expect(json).toEqual({ code: 0, out: [JSON.stringify({ connectorId: connector.connectorId, accountId, sender: 'AcmeBank' })], err: [] });
    expect((await findSender(database.db, accountId, 'AcmeBank'))?.connectorId).toBe(connector.connectorId);

    const human = await run('connector', 'route', '--connector', connector.connectorId, '--sender', 'AcmeBank', '--account', accountId);
    expect(human.out).toEqual([`sender id "AcmeBank" of account ${accountId} now goes out through connector ${connector.connectorId}`]);

    const off = await run('connector', 'unroute', '--sender', 'AcmeBank', '--account', accountId, '--json');
    expect(off).toEqual({ code: 0, out: [JSON.stringify({ accountId, sender: 'AcmeBank', connectorId: null })], err: [] });
    expect((await findSender(database.db, accountId, 'AcmeBank'))?.connectorId).toBeNull();
    expect((await run('connector', 'unroute', '--sender', 'AcmeBank', '--account', accountId)).out).toEqual([
      `sender id "AcmeBank" of account ${accountId} is on no connector: its messages use the default channel`,
    ]);
    const unknown = await run('connector', 'unroute', '--sender', 'acmebank', '--account', accountId);
    expect(unknown).toEqual({ code: 1, out: [], err: [`reachctl: sender id "acmebank" is not registered to account ${accountId} (matched case-sensitively) [SENDER_NOT_REGISTERED]`] });
  });

  it("routes a number off its device to a connector, and clears the device's presence", async () => {
    const accountId = await newAccount('Route number');
    await addNumberCommand(database.db, { accountId, number: '+14155552691', channel: 'simulated' }, now);
    const device = await createDeviceCommand(database.db, { accountId }, now);
    expect((await run('device', 'bind', '--device', device.deviceId, '--number', '+14155552691')).code).toBe(0);
    expect((await presence.get('+14155552691'))?.online).toBe(false);
    const connector = await addConnectorCommand(database.db, issuing.apiKeySecret, { accountId, name: 'Route number', host: 'h', port: 1, systemId: 's', password: 'p' }, now);

    const routed = await run('connector', 'route', '--connector', connector.connectorId, '--number', '+14155552691', '--json');

    expect(routed).toEqual({
      code: 0,
      out: [JSON.stringify({ connectorId: connector.connectorId, accountId, number: '+14155552691', channel: 'smpp' })],
      err: [],
    });
    expect(await findNumber(database.db, '+14155552691')).toMatchObject({ channel: 'smpp', connectorId: connector.connectorId, deviceId: null });
    expect(await presence.get('+14155552691')).toBeNull();
  });

  it("refuses another account's connector, and says which options go together", async () => {
    const a = await newAccount('Tenant A');
    const b = await newAccount('Tenant B');
    await addSenderCommand(database.db, { accountId: a, sender: 'TenantA' }, now);
    await addNumberCommand(database.db, { accountId: a, number: '+14155552692', channel: 'simulated' }, now);
    const bConnector = await addConnectorCommand(database.db, issuing.apiKeySecret, { accountId: b, name: 'B only', host: 'h', port: 1, systemId: 's', password: 'p' }, now);

    const sender = await run('connector', 'route', '--connector', bConnector.connectorId, '--sender', 'TenantA', '--account', a);
    expect(sender).toMatchObject({ code: 1, out: [] });
    expect(sender.err).toEqual([expect.stringMatching(/^reachctl: connector .* belongs to another account: .* \[CONNECTOR_ACCOUNT_MISMATCH\]$/)]);
    const number = await run('connector', 'route', '--connector', bConnector.connectorId, '--number', '+14155552692');
    expect(number.err).toEqual([expect.stringMatching(/\[CONNECTOR_ACCOUNT_MISMATCH\]$/)]);
    expect(await findNumber(database.db, '+14155552692')).toMatchObject({ channel: 'simulated', connectorId: null });

    expect(await run('connector', 'route', '--connector', bConnector.connectorId, '--sender', 'TenantA')).toEqual({
      code: 1,
      out: [],
      err: ['reachctl: give either --sender NAME --account ID or --number +E164'],
    });
    expect(await run('connector', 'route', '--connector', bConnector.connectorId, '--number', '+14155552692', '--account', a)).toEqual({
      code: 1,
      out: [],
      err: ['reachctl: give either --number +E164 (its account is the one holding it) or --sender NAME --account ID, not both'],
    });
    const unregistered = await run('connector', 'route', '--connector', bConnector.connectorId, '--sender', 'Nobody', '--account', b);
    expect(unregistered.err).toEqual([expect.stringMatching(/^reachctl: sender id "Nobody" is not registered to account .* \[SENDER_NOT_REGISTERED\]$/)]);
  });
});
