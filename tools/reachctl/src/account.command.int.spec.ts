import { randomBytes } from 'node:crypto';
import { authenticateBearer, findAccount, signingApiKey } from '@reach/accounts';
import { createTestDatabase, testUrls, type TestDatabase } from '@reach/testing';
import { createAccountCommand } from './account.command';
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

function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const readConfig = () => ({ databaseUrl: database.url, natsUrl: testUrls.nats, namespace: 'reach', apiKeySecret });
  const exit = main(['node', 'reachctl', ...args], { io: { out: (line) => out.push(line), err: (line) => err.push(line) }, readConfig });
  return exit.then((code) => ({ code, out, err }));
}

describe('reachctl account create', () => {
  it('creates an account whose key authenticates', async () => {
    const now = new Date('2026-11-22T12:00:00.000Z');
    const result = await createAccountCommand(database.db, { name: 'Acme', allowanceSegments: 500, overagePriceUsd: 0.01 }, now, issuing);

    expect(Object.keys(result).sort()).toEqual(['accountId', 'apiKey', 'apiUser']);
    const account = await authenticateBearer(database.db, result.apiKey);
    expect(account).toMatchObject({
      id: result.accountId,
      name: 'Acme',
      apiUser: result.apiUser,
      billing: { monthlyAllowanceSegments: 500, overagePricePerSegmentUsd: 0.01 },
      createdAt: now,
    });
  });

  it('prints exactly accountId, apiKey and apiUser with --json, using the default terms', async () => {
    const { code, out, err } = await run('account', 'create', '--name', 'Json Co', '--json');

    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out).toHaveLength(1);
    const printed = JSON.parse(out[0]!) as Record<string, string>;
    expect(Object.keys(printed)).toEqual(['accountId', 'apiKey', 'apiUser']);
    expect(printed['apiKey']).toMatch(/^ak_[0-9A-Za-z]{40}$/);
    expect(printed['apiUser']).toMatch(/^AID[0-9A-F]{24}$/);
    expect((await findAccount(database.db, printed['accountId']!))?.billing).toEqual({
      monthlyAllowanceSegments: 1000,
      overagePricePerSegmentUsd: 0.0075,
    });
  });

  it('takes --allowance and --overage-price, and prints a sentence without --json', async () => {
    const { code, out } = await run('account', 'create', '--name', 'Terms', '--allowance', '250', '--overage-price', '0.02');

    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const accountId = /account ([0-9a-f-]{36})/.exec(out[0]!)?.[1];
    expect(out[0]).toMatch(/API key, shown only now: ak_/);
    expect((await findAccount(database.db, accountId!))?.billing).toEqual({ monthlyAllowanceSegments: 250, overagePricePerSegmentUsd: 0.02 });
  });

  it('refuses malformed flags with exit code 1 and a message on stderr', async () => {
    const badAllowance = await run('account', 'create', '--name', 'x', '--allowance', '10k');
    expect(badAllowance.code).toBe(1);
    expect(badAllowance.out).toEqual([]);
    expect(badAllowance.err.join('\n')).toMatch(/--allowance.*expected a whole number/);

    const blankName = await run('account', 'create', '--name', '   ', '--json');
    expect(blankName.code).toBe(1);
    expect(blankName.err.join('\n')).toMatch(/^reachctl: name: name must not be blank \[INVALID_ACCOUNT\]/);

    const missingName = await run('account', 'create');
    expect(missingName.code).toBe(1);
    expect(missingName.err.join('\n')).toMatch(/required option '--name <name>' not specified/);
  });

  it('prints the key the callbacks service re-creates from the same platform secret', async () => {
    const { code, out } = await run('account', 'create', '--name', 'Signed', '--json');
    expect(code).toBe(0);
    const printed = JSON.parse(out[0]!) as { accountId: string; apiKey: string };

    expect(await signingApiKey(database.db, issuing.apiKeySecret, printed.accountId)).toBe(printed.apiKey);
    await expect(signingApiKey(database.db, randomBytes(32), printed.accountId)).rejects.toMatchObject({ code: 'API_KEY_SECRET_MISMATCH' });
  });

  it('without a platform secret, creates nothing and says how to set one; commands that issue no key still work', async () => {
    const missing = '/nonexistent/reach/api-key-secret';
    const without = (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const readConfig = () => ({
        databaseUrl: database.url,
        natsUrl: testUrls.nats,
        namespace: 'reach',
        apiKeySecret: { kind: 'file' as const, path: missing, explicit: false },
      });
      return main(['node', 'reachctl', ...args], { io: { out: (line) => out.push(line), err: (line) => err.push(line) }, readConfig }).then(
        (code) => ({ code, out, err }),
      );
    };
    const accountsBefore = await database.db.selectFrom('accounts').select('id').execute();

    const refused = await without('account', 'create', '--name', 'No secret', '--json');
    expect(refused).toMatchObject({ code: 1, out: [] });
    expect(refused.err).toEqual([
      expect.stringMatching(/^reachctl: no API key secret: REACH_API_KEY_SECRET is not set and \/nonexistent\/reach\/api-key-secret does not exist\. .*openssl rand -hex 32/),
    ]);
    expect(await database.db.selectFrom('accounts').select('id').execute()).toEqual(accountsBefore);

    const { accountId } = await createAccountCommand(database.db, { name: 'Has one', allowanceSegments: 1, overagePriceUsd: 0 }, new Date(), issuing);
    expect(await without('balance', 'show', '--account', accountId, '--json')).toMatchObject({ code: 0, err: [] });
  });

  it('explains an unreachable PostgreSQL', async () => {
    const err: string[] = [];
    const code = await main(['node', 'reachctl', 'account', 'create', '--name', 'x'], {
      io: { out: () => undefined, err: (line) => err.push(line) },
      readConfig: () => ({ databaseUrl: 'postgres://postgres@127.0.0.1:1/reach', natsUrl: testUrls.nats, namespace: 'reach', apiKeySecret }),
    });
    expect(code).toBe(1);
    expect(err).toEqual([expect.stringMatching(/^reachctl: cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/reach .*or set DATABASE_URL$/)]);
  });
});
