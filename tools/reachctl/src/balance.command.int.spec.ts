import { randomBytes } from 'node:crypto';
import { getBalance } from '@reach/accounts';
import { createTestDatabase, testUrls, type TestDatabase } from '@reach/testing';
import { createAccountCommand } from './account.command';
import { setBalanceCommand, showBalanceCommand } from './balance.command';
import { main } from './main';

const issuing = { apiKeySecret: randomBytes(32) };
const apiKeySecret = { kind: 'value' as const, secret: issuing.apiKeySecret };

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const now = new Date('2026-11-22T12:00:00.000Z');
const newAccount = (name: string) => createAccountCommand(database.db, { name, allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);

function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const readConfig = () => ({ databaseUrl: database.url, natsUrl: testUrls.nats, namespace: 'reach', apiKeySecret });
  const exit = main(['node', 'reachctl', ...args], { io: { out: (line) => out.push(line), err: (line) => err.push(line) }, readConfig });
  return exit.then((code) => ({ code, out, err }));
}

describe('reachctl balance', () => {
  it('sets and shows a balance; a postpaid account shows null', async () => {
    const { accountId } = await newAccount('Balances');

    expect(await showBalanceCommand(database.db, accountId)).toEqual({ accountId, balance: null, currency: null });
    expect(await setBalanceCommand(database.db, { accountId, amount: 25, currency: 'usd' }, now)).toEqual({ accountId, balance: 25, currency: 'usd' });
    expect(await showBalanceCommand(database.db, accountId)).toEqual({ accountId, balance: 25, currency: 'usd' });
  });

  it('prints exactly accountId, balance and currency with --json (usd by default)', async () => {
    const { accountId } = await newAccount('Json');

    const set = await run('balance', 'set', '--account', accountId, '--amount', '12.5', '--json');
    expect({ code: set.code, err: set.err }).toEqual({ code: 0, err: [] });
    expect(set.out).toHaveLength(1);
    const printed = JSON.parse(set.out[0]!) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual(['accountId', 'balance', 'currency']);
    expect(printed).toEqual({ accountId, balance: 12.5, currency: 'usd' });
    expect(await getBalance(database.db, accountId)).toEqual({ accountId, balance: 12.5, currency: 'usd' });

    const topUp = await run('balance', 'set', '--account', accountId, '--amount', '0.0075', '--currency', 'USD', '--json');
    expect(JSON.parse(topUp.out[0]!)).toEqual({ accountId, balance: 0.0075, currency: 'usd' });

    const show = await run('balance', 'show', '--account', accountId, '--json');
    expect(show).toEqual({ code: 0, out: [JSON.stringify({ accountId, balance: 0.0075, currency: 'usd' })], err: [] });
  });

  it('shows a postpaid account as null, and says so without --json', async () => {
    const { accountId } = await newAccount('Postpaid');

    const json = await run('balance', 'show', '--account', accountId, '--json');
    expect(json).toEqual({ code: 0, out: [JSON.stringify({ accountId, balance: null, currency: null })], err: [] });
    const human = await run('balance', 'show', '--account', accountId);
    expect(human).toEqual({ code: 0, out: [`account ${accountId} is postpaid (no prepaid balance)`], err: [] });
  });

  it('reports bad amounts, currencies and unknown accounts on stderr with exit code 1', async () => {
    const { accountId } = await newAccount('Errors');
    await run('balance', 'set', '--account', accountId, '--amount', '5', '--json');

    for (const amount of ['-1', 'ten', '1e3', '0.0000001', '123456789']) {
      const bad = await run('balance', 'set', '--account', accountId, '--amount', amount, '--json');
      expect(bad).toMatchObject({ code: 1, out: [] });
      expect(bad.err.join('\n')).toMatch(/--amount.*expected an amount/);
    }

    const currency = await run('balance', 'set', '--account', accountId, '--amount', '1', '--currency', 'dollars', '--json');
    expect(currency).toMatchObject({ code: 1, out: [] });
    expect(currency.err).toEqual([expect.stringMatching(/three-letter ISO 4217 code.*\[INVALID_CURRENCY\]$/)]);

    const mismatch = await run('balance', 'set', '--account', accountId, '--amount', '1', '--currency', 'eur', '--json');
    expect(mismatch).toMatchObject({ code: 1, out: [] });
    expect(mismatch.err).toEqual([expect.stringMatching(/holds its balance in usd, not eur \[CURRENCY_MISMATCH\]$/)]);

    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const args of [['set', '--amount', '1'], ['show']]) {
      const result = await run('balance', ...args, '--account', unknown, '--json');
      expect(result).toMatchObject({ code: 1, out: [] });
      expect(result.err).toEqual([expect.stringMatching(/\[ACCOUNT_NOT_FOUND\]$/)]);
    }
    expect(await getBalance(database.db, accountId)).toEqual({ accountId, balance: 5, currency: 'usd' });
  });
});
