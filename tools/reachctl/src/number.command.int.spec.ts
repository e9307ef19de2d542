import { AccountsError, findNumber } from '@reach/accounts';
import { createTestDatabase, testUrls, type TestDatabase } from '@reach/testing';
import { createAccountCommand } from './account.command';
import { main } from './main';
import { addNumberCommand } from './number.command';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const now = new Date('2026-11-22T12:00:00.000Z');
const newAccount = (name: string) => createAccountCommand(database.db, { name, allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now);

function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const readConfig = () => ({ databaseUrl: database.url, natsUrl: testUrls.nats, namespace: 'reach' });
  const exit = main(['node', 'reachctl', ...args], { io: { out: (line) => out.push(line), err: (line) => err.push(line) }, readConfig });
  return exit.then((code) => ({ code, out, err }));
}

describe('reachctl number add', () => {
  it('provisions a number, idempotently, and refuses it to a second account', async () => {
    const first = await newAccount('First');
    const second = await newAccount('Second');

    const added = await addNumberCommand(database.db, { accountId: first.accountId, number: '+14155552671', channel: 'simulated' }, now);
    expect(added).toEqual({ number: '+14155552671', accountId: first.accountId, channel: 'simulated' });
    expect(await addNumberCommand(database.db, { accountId: first.accountId, number: '+14155552671', channel: 'simulated' }, now)).toEqual(added);

    const taken = addNumberCommand(database.db, { accountId: second.accountId, number: '+14155552671', channel: 'simulated' }, now);
    await expect(taken).rejects.toBeInstanceOf(AccountsError);
    await expect(taken).rejects.toMatchObject({ code: 'NUMBER_TAKEN' });
  });

  it('prints number, accountId and channel with --json', async () => {
    const { accountId } = await newAccount('Json');

    const { code, out, err } = await run('number', 'add', '--account', accountId, '--number', '+447911123456', '--channel', 'smpp', '--json');
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out.map((line) => JSON.parse(line) as unknown)).toEqual([{ number: '+447911123456', accountId, channel: 'smpp' }]);
    expect(await findNumber(database.db, '+447911123456')).toEqual({ e164: '+447911123456', accountId, channel: 'smpp' });

    const defaulted = await run('number', 'add', '--account', accountId, '--number', '+447911123457', '--json');
    expect(JSON.parse(defaulted.out[0]!)).toEqual({ number: '+447911123457', accountId, channel: 'simulated' });
  });

  it('reports invalid numbers, unknown accounts and unknown channels on stderr with exit code 1', async () => {
    const { accountId } = await newAccount('Errors');

    const invalid = await run('number', 'add', '--account', accountId, '--number', '+1 415 555 2671');
    expect(invalid).toMatchObject({ code: 1, out: [] });
    expect(invalid.err).toEqual([expect.stringMatching(/not a valid E\.164 number.*\[INVALID_NUMBER\]$/)]);

    const unknown = await run('number', 'add', '--account', '00000000-0000-4000-8000-000000000000', '--number', '+14155552672');
    expect(unknown).toMatchObject({ code: 1, out: [] });
    expect(unknown.err).toEqual([expect.stringMatching(/\[ACCOUNT_NOT_FOUND\]$/)]);

    const channel = await run('number', 'add', '--account', accountId, '--number', '+14155552672', '--channel', 'fax');
    expect(channel.code).toBe(1);
    expect(channel.err.join('\n')).toMatch(/Allowed choices are simulated, device, smpp/);
    expect(await findNumber(database.db, '+14155552672')).toBeNull();
  });
});
