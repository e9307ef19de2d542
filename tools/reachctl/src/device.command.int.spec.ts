import { randomBytes } from 'node:crypto';
import { natsNames } from '@reach/contracts';
import { connectNats, deleteTopology, drainNats, ensureTopology, PhonePresenceStore } from '@reach/messaging';
import { createTestDatabase, testNamespace, testUrls, type TestDatabase } from '@reach/testing';
import type { NatsConnection } from 'nats';
import pino from 'pino';
import { createAccountCommand } from './account.command';
import { CliError } from './cli-errors';
import { setPhonePresence } from './device.command';
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
